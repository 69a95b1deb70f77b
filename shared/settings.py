"""Settings every service shares; each service subclasses with its own env prefix (PLANS_, ...)."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Common settings. A service sets ``model_config = service_config("PLANS_")``."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        description="PostgreSQL URL of this service's own database",
    )
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    kafka_security: str = Field(
        "", description="Extra librdkafka settings for production, 'key=value;key=value' (TLS, SASL)"
    )
    kafka_session_timeout_ms: int = Field(
        6000, description="Consumer group session timeout; low values join fast on a local broker"
    )
    kafka_partitions: int = Field(6, description="Partitions for topics this service creates")
    kafka_replication: int = Field(1, description="Replication factor for topics this service creates")
    topic_prefix: str = Field("", description="Prefix for every topic name (isolates test runs or environments)")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL for Celery and rate limits")
    jwt_issuer: str = Field("urn:inspection:local", description="Expected 'iss' of bearer tokens")
    jwt_audience: str = Field("inspection-platform", description="Expected 'aud' of bearer tokens")
    jwks: str = Field("", description="JWKS as JSON text, or a path to a JSON file, holding the token verification keys")
    jwks_url: str = Field("", description="URL of the identity provider's JWKS (used when JWKS is empty)")
    max_body_bytes: int = Field(1_048_576, description="Largest request body accepted (413 above)")
    max_page_size: int = Field(500, description="Largest page a list endpoint returns")
    rate_limit_per_minute: int = Field(1200, description="Requests per token per minute (429 above); 0 disables")
    log_level: str = Field("INFO", description="Log level")
    api_host: str = Field("127.0.0.1", description="Address the API binds")
    api_port: int = Field(8000, description="Port the API binds")
    db_pool_size: int = Field(10, description="Connections in the database pool of each API, relay or consumer process (a Celery "
                              "worker process keeps 2)")
    api_threads: int = Field(3, description="Blocking routes an API process runs at once; the others wait in the event loop. "
                             "One runs Python at a time (the GIL), a few overlap their database waits, more make every request slower")
    api_workers: int = Field(1, description="API worker processes sharing the port (uvicorn --workers); metrics count them all")
    worker_metrics_port: int = Field(0, description="Prometheus port of the relay/consumer processes; 0 = off")
    relay_batch_size: int = Field(1000, description="Outbox rows the relay publishes per batch")
    relay_poll_seconds: float = Field(1.0, description="Relay wakes at least this often when no NOTIFY arrives")
    relay_broker_check_seconds: float = Field(10.0, description="How often the relay checks that the broker still has the "
                                              "topics and partitions it published to, and publishes again what it lost; 0 = never")
    consumer_batch_size: int = Field(500, description="Messages a consumer applies per database transaction")
    max_event_bytes: int = Field(1_048_576, description="Largest event payload a consumer accepts; larger ones go to the dead-letter topic")


def service_config(prefix: str) -> SettingsConfigDict:
    """Pydantic-settings config reading variables such as ``PLANS_DATABASE_URL``."""
    return SettingsConfigDict(env_prefix=prefix, extra="ignore")
