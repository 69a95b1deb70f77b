"""Settings of the notifications service, read from NOTIFICATIONS_* environment variables."""
from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, service_config


class NotificationsSettings(ServiceSettings):
    model_config = service_config("NOTIFICATIONS_")

    smtp_host: str = Field("127.0.0.1", description="SMTP server host")
    smtp_port: int = Field(25, description="SMTP server port")
    smtp_user: str = Field("", description="SMTP login user; empty = no login")
    smtp_password: str = Field("", description="SMTP login password")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS before login")
    smtp_ca_file: str = Field("", description="CA bundle that verifies the SMTP server's certificate for STARTTLS; empty = system CAs")
    smtp_timeout: float = Field(20.0, description="Seconds an SMTP conversation may take")
    mail_from: str = Field("Hệ thống kiểm tra công vụ <no-reply@kiemtra.gov.vn>",
                           description="From header of every mail (display name may be Vietnamese)")
    message_id_domain: str = Field("notifications.kiemtra.local",
                                   description="Domain part of the stable Message-ID given to each mail")
    webhook_timeout: float = Field(10.0, description="Seconds a webhook receiver has to answer")
    webhook_disable_after: int = Field(10, description="Consecutive failed attempts after which a webhook subscription is disabled")
    max_attempts: int = Field(8, description="Attempts per delivery (mail or webhook) before it is marked failed")
    retry_base_seconds: float = Field(30.0, description="First retry delay; doubles each attempt")
    retry_max_seconds: float = Field(3600.0, description="Cap of the retry delay")
    send_lease_seconds: float = Field(120.0, description="How long a claimed ('sending') delivery is reserved before recovery")
    resend_ambiguous: bool = Field(
        True, description="A delivery whose worker died mid-send is sent again (at-least-once, same Message-ID / "
                          "CloudEvent id) when true, or marked failed for a human to check (at-most-once) when false")
    requeue_after_seconds: float = Field(5.0, description="The sweeper re-enqueues pending deliveries enqueued longer ago than this")
    sweep_seconds: float = Field(5.0, description="Period of the beat task that sweeps deliveries and fires due reminders")
    reminder_days: str = Field("7,3,1", description="Default days before a remediation deadline when reminders go out")
    escalation_days: str = Field("0,7,14", description="Default days after the deadline for each escalation step: unit head, Sở Nội vụ, chairman")
