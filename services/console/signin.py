"""Sign-in: demo users per role (tokens from the local signing key), or an OIDC authorization-code flow."""
from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Annotated
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from services.console.backend import BackendError, ServiceUnavailable
from services.console.session import COOKIE, User
from services.console.web import Console, ConsoleDep, back, render, session_of

router = APIRouter()

# Demo people: the team leader and member carry the person ids of the demo plan's team, so their inbox fills.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "province_admin": ("demo-province_admin", "Trần Văn Lâm"),
    "planner": ("demo-planner", "Lê Thị Thu Hà"),
    "team_leader": ("demo-truong-doan", "Nguyễn Văn Hùng"),
    "team_member": ("demo-thanh-vien-0", "Trần Thị Mai"),
    "unit_head": ("demo-unit_head", "Phạm Quốc Việt"),
    "central_viewer": ("demo-central_viewer", "Đỗ Minh Đức"),
}


def set_session(c: Console, response, data: dict) -> None:
    """Store the session in the signed cookie."""
    response.set_cookie(COOKIE, c.sessions.dumps(data), max_age=c.settings.session_max_age_seconds, httponly=True,
                        samesite="lax", secure=c.settings.secure_cookies, path="/")


async def demo_units(c: Console) -> list[dict]:
    """Units a demo unit head may answer for (read with a viewer token; empty when plans is away)."""
    if c.issuer is None:
        return []
    token = c.issuer.issue(tenant=c.settings.demo_tenant, roles=["viewer"], sub="console-demo", ttl=60)
    try:
        tree = await c.backends.get("plans", "/v1/units/tree", token=token, shape="flat")
    except (BackendError, ServiceUnavailable):
        return []
    return sorted((u for u in tree["units"] if u["level"] >= 2), key=lambda u: (u["level"], u["name"]))


@router.get("/login")
async def login_page(request: Request, c: ConsoleDep):
    """The sign-in page: demo users per role and/or the identity provider."""
    units = await demo_units(c) if c.settings.demo else []
    return await render(request, "login.html", None, demo_users=DEMO_USERS if c.settings.demo else {}, units=units,
                        oidc=bool(c.settings.oidc_issuer), tenant=c.settings.demo_tenant)


@router.post("/login/demo")
async def login_demo(request: Request, c: ConsoleDep, role: Annotated[str, Form()],
                     unit_id: Annotated[str, Form()] = ""):
    """Sign in as a demo user of a role (local stack only)."""
    if not c.settings.demo or c.issuer is None or role not in DEMO_USERS:
        return back("/login", error="demo sign-in is off")
    sub, name = DEMO_USERS[role]
    if role == "unit_head" and not unit_id:
        return back("/login", error="chọn đơn vị / choose a unit", field="unit_id")
    # A central viewer's reach comes from its role (every province), whatever tenant the token names.
    token = c.issuer.issue(tenant=c.settings.demo_tenant, roles=[role], sub=sub, name=name,
                           unit_id=unit_id if role == "unit_head" else None,
                           ttl=c.settings.session_max_age_seconds)
    response = RedirectResponse(User.from_token(token).home, status_code=303)
    set_session(c, response, {"token": token})
    return response


@router.post("/logout")
async def logout():
    """Forget the session."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/lang/{code}")
async def switch_language(code: str, request: Request):
    """Switch between Vietnamese and English and go back to the page."""
    target = request.query_params.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie("lang", "en" if code == "en" else "vi", max_age=365 * 86400, samesite="lax", path="/")
    return response


# -- OIDC (authorization code with PKCE) ----------------------------------------------------------------
async def _discovery(c: Console) -> dict:
    url = c.settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    async with httpx.AsyncClient(timeout=c.settings.backend_timeout_seconds) as client:
        response = await client.get(url)
        response.raise_for_status()
        return response.json()


@router.get("/login/oidc")
async def login_oidc(c: ConsoleDep):
    """Send the browser to the identity provider (authorization code with PKCE)."""
    if not c.settings.oidc_issuer:
        return back("/login", error="no identity provider is configured")
    config = await _discovery(c)
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": c.settings.oidc_client_id,
                       "redirect_uri": c.settings.oidc_redirect_uri, "scope": c.settings.oidc_scopes, "state": state,
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    response = RedirectResponse(f"{config['authorization_endpoint']}?{query}", status_code=303)
    set_session(c, response, {"oidc_state": state, "oidc_verifier": verifier})
    return response


@router.get("/auth/callback")
async def oidc_callback(request: Request, c: ConsoleDep, code: str = "", state: str = ""):
    """Exchange the code for tokens and keep the access token in the session."""
    pending = session_of(request)
    if not code or not state or state != pending.get("oidc_state"):
        return back("/login", error="sign-in was interrupted; please try again")
    config = await _discovery(c)
    async with httpx.AsyncClient(timeout=c.settings.backend_timeout_seconds) as client:
        response = await client.post(config["token_endpoint"], data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": c.settings.oidc_redirect_uri,
            "client_id": c.settings.oidc_client_id, "client_secret": c.settings.oidc_client_secret,
            "code_verifier": pending.get("oidc_verifier", "")})
    if response.status_code != 200:
        return back("/login", error="the identity provider refused the sign-in")
    # The access token carries the tenant, roles and unit the services check.
    token = response.json().get("access_token", "")
    user = User.from_token(token)
    if user is None:
        return back("/login", error="the identity provider returned an unusable token")
    redirect = RedirectResponse(user.home, status_code=303)
    set_session(c, redirect, {"token": token})
    return redirect
