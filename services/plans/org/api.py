"""Routes for organisation units, the unit tree as of a date, CSV import/export, the working calendar."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["organisation units"])
