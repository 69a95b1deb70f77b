"""E-mail over SMTP: UTF-8 multipart/alternative (plain + HTML), RFC 2047 subject, a stable Message-ID."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate

from services.notifications.settings import NotificationsSettings


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying cannot help."""


def build_message(*, sender: str, to: str, to_name: str | None, subject: str, text: str, html: str | None,
                  message_id: str, event_id: str | None = None) -> EmailMessage:
    """One message; the policy encodes the Vietnamese subject and names as RFC 2047 words."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = formataddr((to_name, to)) if to_name else to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    # Chosen when the delivery row was written: a resend after a crash is recognisably the same message.
    msg["Message-ID"] = message_id
    if event_id:
        msg["X-Event-Id"] = event_id
    msg["Auto-Submitted"] = "auto-generated"
    # Quoted-printable bodies: 7-bit clean, so any relay (with or without 8BITMIME) passes them intact.
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


class SmtpSender:
    """Sends one message per connection (deliveries are independent tasks; simple beats clever here)."""

    def __init__(self, settings: NotificationsSettings):
        self.settings = settings

    def send(self, msg: EmailMessage) -> None:
        """Hand the message to the SMTP server; raises PermanentFailure on a 5xx answer."""
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
                smtp.ehlo()
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                refused = smtp.send_message(msg)
                if refused:
                    raise PermanentFailure(f"recipients refused: {refused}")
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipients refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise

