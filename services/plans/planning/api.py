"""Routes for checklists, teams and annual plans (coverage, workflow, documents)."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["plans"])
