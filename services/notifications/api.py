"""HTTP routes of the notifications service: thin, they parse, authorise, and call store/domain functions."""
from __future__ import annotations

from fastapi import APIRouter, FastAPI

from shared.api import create_app as create_shell
from shared.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["notifications"])


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    return create_shell(runtime, [router], title="Notifications service", manage_runtime=manage_runtime)
