"""The console's FastAPI app: the shell (errors, sign-in, language, health, service worker) and every page."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from services.console import dashboard, fieldwork, inbox, planning, remediation, signin, teams
from services.console.backend import BackendError, Backends, ServiceUnavailable
from services.console.session import SessionCodec, User
from services.console.settings import ConsoleSettings
from services.console.web import HERE, Console, SignInRequired, render, session_of

log = logging.getLogger(__name__)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
CSP_EVIDENCE = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


def _demo_issuer(settings: ConsoleSettings):
    if not settings.demo:
        return None
    from shared.auth import LocalIssuer

    return LocalIssuer.load_or_create(Path(settings.jwt_keys))


def create_app(settings: ConsoleSettings | None = None, *, transports: dict[str, httpx.AsyncBaseTransport] | None = None,
               issuer=None) -> FastAPI:
    """Build the console; tests pass in-process transports to the services and their own token issuer."""
    settings = settings or ConsoleSettings()
    backends = Backends(settings.service_urls(), settings.backend_timeout_seconds, transports)
    state = Console(settings, backends, SessionCodec(settings.session_secret, settings.session_max_age_seconds),
                    issuer if issuer is not None else _demo_issuer(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        await backends.close()

    app = FastAPI(title="Web console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = state
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _exc: SignInRequired):
        if wants_json(request):
            return JSONResponse({"error": "unauthorized", "message": "sign in again"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, exc: ServiceUnavailable):
        log.warning("service %s did not answer", exc.service)
        if wants_json(request):
            return JSONResponse({"error": "unavailable", "service": exc.service}, status_code=503)
        return await render(request, "error.html", _user(request), status=503, title_key="service_down",
                            message_key="service_down_text", service=exc.service)

    @app.exception_handler(BackendError)
    async def backend_error(request: Request, exc: BackendError):
        if wants_json(request):
            return JSONResponse(exc.body, status_code=exc.status)
        if exc.status == 401:
            return RedirectResponse("/login", status_code=303)
        title = {403: "forbidden", 404: "not_found"}.get(exc.status, "error")
        return await render(request, "error.html", _user(request), status=exc.status, title_key=title,
                            detail=exc.message, service=exc.service)

    @app.middleware("http")
    async def same_origin_writes(request: Request, call_next):
        # Cookies are SameSite=Lax; refusing foreign Origins on writes closes the rest of the CSRF door.
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD", "OPTIONS") and origin and origin != "null":
            if urlsplit(origin).netloc != request.headers.get("host", ""):
                return JSONResponse({"error": "forbidden", "message": "cross-site request"}, status_code=403)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Only our own script and assets; evidence files are served sandboxed (they come from the field).
        response.headers.setdefault("Content-Security-Policy", CSP_EVIDENCE if request.url.path.startswith("/evidence/")
                                    else CSP)
        return response

    # Phones in the field are often on slow connections: compress pages and assets.
    app.add_middleware(GZipMiddleware, minimum_size=1000)

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "service": "console"}

    @app.get("/sw.js")
    async def service_worker():
        # Served from the root so that its scope covers the inspector pages.
        return FileResponse(HERE / "static" / "sw.js", media_type="text/javascript",
                            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})

    @app.get("/")
    async def home(request: Request):
        user = _user(request)
        return RedirectResponse(user.home if user else "/login", status_code=303)

    for module in (signin, dashboard, planning, teams, fieldwork, remediation, inbox):
        app.include_router(module.router)
    return app


def _user(request: Request) -> User | None:
    token = session_of(request).get("token")
    return User.from_token(token) if token else None
