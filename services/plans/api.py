"""HTTP app of the plans service: the routers of its two feature packages (org, planning)."""
from __future__ import annotations

from fastapi import FastAPI

from services.plans.org.api import router as org_router
from services.plans.planning.api import router as planning_router
from shared.api import create_app as create_shell
from shared.runtime import Runtime


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    return create_shell(runtime, [org_router, planning_router], title="Plans service",
                        description="Organisation units over time, checklists, teams, annual plans with coverage rules and approval.",
                        manage_runtime=manage_runtime)
