"""Wiring for tests and demos: the console over in-process service apps, and a real server on a free port."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from services.console.app import create_app
from services.console.settings import ConsoleSettings

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers, like a service that is down


def console_app(apps: dict[str, Any], issuer, tenant: str, **overrides: Any):
    """The console calling the given service apps in-process (ASGI); services not given are unreachable."""
    settings = ConsoleSettings(**{f"{name}_url": UNREACHABLE for name in ("plans", "inspections", "notifications",
                                                                           "analytics")},
                               demo=True, demo_tenant=tenant, session_secret="test-secret", **overrides)
    transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
    for name in apps:
        setattr(settings, f"{name}_url", f"http://{name}.internal")
    return create_app(settings, transports=transports, issuer=issuer)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A uvicorn server in a thread (for the browser test), stopped by ``stop()``."""

    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> "Server":
        """Start serving and wait until the socket accepts."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the console server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.should_exit = True
        self.thread.join(10)
