"""E-mail over SMTP: UTF-8 multipart/alternative (plain + HTML), RFC 2047 subject, a stable Message-ID."""
from __future__ import annotations

import smtplib
import ssl
from email import charset as _charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

from services.notifications.settings import NotificationsSettings

# Quoted-printable UTF-8 bodies: 7-bit clean, so any relay (with or without 8BITMIME) passes them intact.
_UTF8_QP = _charset.Charset("utf-8")
_UTF8_QP.body_encoding = _charset.QP


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying cannot help."""


def _address(name: str | None, address: str) -> str:
    return formataddr((name, address), charset="utf-8") if name else address


def build_message(*, sender: str, to: str, to_name: str | None, subject: str, text: str, html: str | None,
                  message_id: str, event_id: str | None = None) -> Message:
    """One multipart/alternative message with an RFC 2047 (UTF-8) subject and display names.

    Built with email.header.Header rather than the newer EmailMessage policy, whose folding of long
    encoded subjects drops the space at the fold (CPython 3.11): "làm việc tại" arrived as "làm việctại".
    """
    msg = MIMEMultipart("alternative")
    sender_name, sender_address = parseaddr(sender)
    msg["From"] = _address(sender_name, sender_address or sender)
    msg["To"] = _address(to_name, to)
    msg["Subject"] = Header(subject, "utf-8")
    msg["Date"] = formatdate(localtime=False)
    # Chosen when the delivery row was written: a resend after a crash is recognisably the same message.
    msg["Message-ID"] = message_id
    if event_id:
        msg["X-Event-Id"] = event_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.attach(MIMEText(text, "plain", _UTF8_QP))
    if html:
        msg.attach(MIMEText(html, "html", _UTF8_QP))
    return msg


class SmtpSender:
    """Sends one message per connection (deliveries are independent tasks; simple beats clever here)."""

    def __init__(self, settings: NotificationsSettings):
        self.settings = settings

    def send(self, msg: Message) -> None:
        """Hand the message to the SMTP server; raises PermanentFailure on a 5xx answer.

        Once the server accepted the message (250 after DATA) nothing may turn it into a failure:
        an error on QUIT is ignored, or the message would be sent again.
        """
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            smtp.ehlo()
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=s.smtp_ca_file or None))
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipients refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
        if refused:  # some of several recipients refused; ours is one recipient, so this is all of them
            raise PermanentFailure(f"recipients refused: {refused}")
