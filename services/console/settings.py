"""Settings of the web console, read from CONSOLE_* environment variables."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    plans_url: str = Field("http://127.0.0.1:8001", description="Base URL of the plans service")
    inspections_url: str = Field("http://127.0.0.1:8002", description="Base URL of the inspections service")
    notifications_url: str = Field("http://127.0.0.1:8003", description="Base URL of the notifications service")
    analytics_url: str = Field("http://127.0.0.1:8004", description="Base URL of the analytics service")
    backend_timeout_seconds: float = Field(10.0, description="How long the console waits for a service before showing an error page")
    session_secret: str = Field("", description="Key signing the session cookie; empty = a random key per process (sessions end on restart)")
    session_max_age_seconds: int = Field(12 * 3600, description="How long a sign-in lasts")
    secure_cookies: bool = Field(False, description="Mark the session cookie Secure (set behind HTTPS)")
    demo: bool = Field(True, description="Offer demo users per role on the sign-in page (tokens from the local signing key); off in production")
    demo_tenant: str = Field("vinh-long", description="Province (tenant) of the demo users")
    jwt_keys: str = Field(".local/jwt", description="Directory of the local signing key used to mint demo tokens")
    oidc_issuer: str = Field("", description="OIDC issuer URL; its /.well-known/openid-configuration gives the endpoints")
    oidc_client_id: str = Field("", description="OIDC client id of the console")
    oidc_client_secret: str = Field("", description="OIDC client secret of the console")
    oidc_redirect_uri: str = Field("", description="This console's callback URL registered with the issuer (…/auth/callback)")
    oidc_scopes: str = Field("openid profile email", description="Scopes asked for at sign-in")
    host: str = Field("127.0.0.1", description="Address the console binds")
    port: int = Field(8000, description="Port the console binds")
    log_level: str = Field("INFO", description="Log level")

    def service_urls(self) -> dict[str, str]:
        """Backend name -> base URL."""
        return {"plans": self.plans_url, "inspections": self.inspections_url,
                "notifications": self.notifications_url, "analytics": self.analytics_url}
