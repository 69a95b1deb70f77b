"""Everyone's notification inbox, with the unread count shown in the header of every page."""
from __future__ import annotations

from fastapi import APIRouter, Request

from services.console.web import ConsoleDep, UserDep, back, render

router = APIRouter()


@router.get("/inbox")
async def inbox_page(request: Request, user: UserDep, c: ConsoleDep, unread: bool = False):
    """The user's messages, newest first."""
    page = await c.backends.get("notifications", "/v1/inbox", token=user.token, limit=100, unread=str(unread).lower())
    return await render(request, "inbox.html", user, items=page["items"], total=page["total"], only_unread=unread)


@router.post("/inbox/{item_id}/read")
async def mark_read(item_id: str, user: UserDep, c: ConsoleDep):
    """Mark one message read."""
    await c.backends.send("notifications", "POST", f"/v1/inbox/{item_id}/read", token=user.token)
    return back("/inbox")
