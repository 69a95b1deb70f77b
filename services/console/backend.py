"""Calls to the four services with the user's bearer token: timeouts, and errors the pages can explain."""
from __future__ import annotations

import asyncio
from typing import Any

import httpx

SERVICES = ("plans", "inspections", "notifications", "analytics")


class ServiceUnavailable(Exception):
    """A service did not answer in time or refused the connection."""

    def __init__(self, service: str, detail: str = ""):
        super().__init__(f"{service} did not answer: {detail}")
        self.service = service


class BackendError(Exception):
    """A service answered with an error status; carries its JSON body (error, message, field)."""

    def __init__(self, service: str, status: int, body: dict[str, Any]):
        super().__init__(f"{service} answered {status}: {body.get('message', '')}")
        self.service = service
        self.status = status
        self.body = body

    @property
    def message(self) -> str:
        """The service's explanation, for the page."""
        return str(self.body.get("message") or self.body.get("error") or self.status)

    @property
    def field(self) -> str | None:
        """The request field the service names, if any."""
        return self.body.get("field")


class Backends:
    """One pooled HTTP client per service; tests pass in-process transports instead of URLs."""

    def __init__(self, urls: dict[str, str], timeout: float, transports: dict[str, httpx.AsyncBaseTransport] | None = None):
        transports = transports or {}
        self.clients = {name: httpx.AsyncClient(base_url=urls[name], timeout=timeout, transport=transports.get(name))
                        for name in SERVICES}

    async def request(self, service: str, method: str, path: str, *, token: str | None, params: dict | None = None,
                      json: Any = None, data: dict | None = None, files: Any = None,
                      headers: dict[str, str] | None = None, timeout: float | None = None,
                      raw: bytes | None = None) -> httpx.Response:
        """The service's answer; raises ServiceUnavailable or BackendError (4xx/5xx)."""
        send_headers = dict(headers or {})
        if token:
            send_headers["Authorization"] = f"Bearer {token}"
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
            if raw is not None:
                extra["content"] = raw
            response = await self.clients[service].request(method, path, params=clean, json=json, data=data, files=files,
                                                           headers=send_headers, **extra)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(service, type(exc).__name__) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text[:500]}
            if response.status_code in (502, 503, 504):
                raise ServiceUnavailable(service, str(response.status_code))
            raise BackendError(service, response.status_code, body if isinstance(body, dict) else {"message": str(body)})
        return response

    async def get(self, service: str, path: str, *, token: str | None, **params: Any) -> Any:
        """GET and decode JSON."""
        return (await self.request(service, "GET", path, token=token, params=params)).json()

    async def send(self, service: str, method: str, path: str, *, token: str | None, **kw: Any) -> httpx.Response:
        """A write (POST, PUT, PATCH, DELETE); the response, or BackendError / ServiceUnavailable."""
        return await self.request(service, method, path, token=token, **kw)

    async def optional(self, service: str, path: str, *, token: str | None, **params: Any) -> Any:
        """GET, with None for a 404 (e.g. 'not concluded yet')."""
        try:
            return await self.get(service, path, token=token, **params)
        except BackendError as exc:
            if exc.status == 404:
                return None
            raise

    async def gather(self, *calls) -> list[Any]:
        """Run several reads at once (a page usually needs a few)."""
        return list(await asyncio.gather(*calls))

    async def close(self) -> None:
        """Close the pooled connections."""
        for client in self.clients.values():
            await client.aclose()
