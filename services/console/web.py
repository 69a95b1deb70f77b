"""What every page route shares: the console's parts, the signed-in user, rendering, redirects with messages."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.console import i18n
from services.console.backend import BackendError, Backends, ServiceUnavailable
from services.console.session import COOKIE, SessionCodec, User
from services.console.settings import ConsoleSettings

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["vndate"] = i18n.format_date
templates.env.globals["new_id"] = lambda: str(uuid.uuid4())


@dataclass
class Console:
    settings: ConsoleSettings
    backends: Backends
    sessions: SessionCodec
    issuer: Any = None  # shared.auth.LocalIssuer in demo mode


class SignInRequired(Exception):
    """No valid session: the handler sends the browser to the sign-in page."""


def console(request: Request) -> Console:
    """The console's parts (settings, backends, sessions, issuer)."""
    return request.app.state.console


def session_of(request: Request) -> dict[str, Any]:
    """The request's session."""
    return console(request).sessions.loads(request.cookies.get(COOKIE))


def language(request: Request) -> str:
    """The chosen language (?lang=, then the cookie, then Vietnamese)."""
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "vi"
    return lang if lang in i18n.LANGUAGES else "vi"


def current_user(request: Request) -> User:
    """The signed-in user; SignInRequired sends the browser to the sign-in page."""
    token = session_of(request).get("token")
    user = User.from_token(token) if token else None
    if user is None:
        raise SignInRequired()
    return user


UserDep = Annotated[User, Depends(current_user)]
ConsoleDep = Annotated[Console, Depends(console)]


def back(url: str, **message: Any) -> RedirectResponse:
    """303 to a page, with ?ok= or ?error=/&field= for the message shown there."""
    query = urlencode({k: v for k, v in message.items() if v})
    return RedirectResponse(url + (("&" if "?" in url else "?") + query if query else ""), status_code=303)


def failed(url: str, exc: BackendError) -> RedirectResponse:
    """Back to the form with the service's explanation (and the field it names)."""
    return back(url, error=exc.message, field=exc.field or "")


async def unread_count(c: Console, user: User) -> int | None:
    """The user's unread messages, or None when notifications does not answer quickly."""
    try:
        # A badge is not worth a slow page: a short timeout, and no badge when notifications is away.
        response = await c.backends.request("notifications", "GET", "/v1/inbox/unread-count", token=user.token,
                                            timeout=min(2.0, c.settings.backend_timeout_seconds))
        return int(response.json()["unread"])
    except (BackendError, ServiceUnavailable, KeyError, ValueError):
        return None


async def render(request: Request, template: str, user: User | None, status: int = 200, **context: Any) -> HTMLResponse:
    """A page with the shell (navigation, unread count, language) around it."""
    lang = language(request)
    c = console(request)
    unread = await unread_count(c, user) if user is not None else None

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    def num(value: Any, decimals: int | None = None) -> str:
        return i18n.format_number(value, lang, decimals)

    def label(prefix: str, value: Any) -> str:
        return i18n.label_or_raw(lang, prefix, value)

    base = {"request": request, "label": label, "user": user, "lang": lang, "t": t, "num": num, "unread": unread,
            "ok": request.query_params.get("ok"), "error": request.query_params.get("error"),
            "error_field": request.query_params.get("field"), "demo": c.settings.demo}
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status)


def form_uuid(value: str | None) -> str:
    """The client-generated id a form carries (a resend of the same form is then harmless), or a new one."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(uuid.uuid4())
