"""Request bodies of the planning routes (pydantic gives 422 with field names for malformed input)."""
from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Text = Field(min_length=1, max_length=2000)
PlanType = Literal["public_service", "administrative_reform", "thematic"]
Form = Literal["on_site", "online", "periodic", "surprise", "self"]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Criterion(_Closed):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9ĐđÀ-ỹ._-]+$")
    title: str = Text
    parent_code: str | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=20000)


class ChecklistCreate(_Closed):
    title: str = Text
    criteria: list[Criterion] = Field(min_length=1, max_length=2000)
    publish: bool = True


class ChecklistVersionCreate(_Closed):
    title: str | None = Field(None, min_length=1, max_length=2000)
    criteria: list[Criterion] = Field(min_length=1, max_length=2000)
    publish: bool = True


class ChecklistVersionUpdate(_Closed):
    title: str | None = Field(None, min_length=1, max_length=2000)
    criteria: list[Criterion] = Field(min_length=1, max_length=2000)


class Person(_Closed):
    person_id: str = Field(min_length=1, max_length=200)
    name: str = Text
    unit_id: UUID | None = None
    email: str | None = Field(None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: str | None = Field(None, min_length=1, max_length=200)


class TeamWrite(_Closed):
    name: str = Text
    lead_unit_id: UUID
    leader: Person
    members: list[Person] = Field(default_factory=list, max_length=200)


class CoverageRuleIn(_Closed):
    id: str = Field(min_length=1, max_length=200)
    description: str = Text
    level: int | None = Field(None, ge=1, le=10)
    kind: str | None = Field(None, min_length=1, max_length=200)
    min_count: int | None = Field(None, ge=1)
    per_level: int | None = Field(None, ge=1, le=10)


class Issuer(_Closed):
    """Who issues the plan document: 'ỦY BAN NHÂN DÂN TỈNH TRÀ VINH', place 'Trà Vinh', its number and signer."""
    authority: str = Text
    body: str | None = Field(None, min_length=1, max_length=2000)
    place: str = Text
    number: str | None = Field(None, min_length=1, max_length=50)
    symbol: str = Field("KH-UBND", min_length=1, max_length=50)
    signer_title: str | None = Field(None, min_length=1, max_length=200)
    signer_name: str | None = Field(None, min_length=1, max_length=200)
    recipients: list[str] = Field(default_factory=list, max_length=50)


class PlanFields(_Closed):
    """What a planner writes about a plan; all optional so PATCH can reuse it."""
    year: int | None = Field(None, ge=2000, le=2100)
    type: PlanType | None = None
    title: str | None = Field(None, min_length=1, max_length=2000)
    purpose: list[str] | None = Field(None, max_length=50)
    requirements: list[str] | None = Field(None, max_length=50)
    targets: list[str] | None = Field(None, max_length=50)
    checklist_id: UUID | None = None
    checklist_version: int | None = Field(None, ge=1)
    focus_codes: list[str] | None = Field(None, max_length=500)
    forms: list[Form] | None = Field(None, max_length=5)
    coverage_rules: list[CoverageRuleIn] | None = Field(None, max_length=100)
    issuer: Issuer | None = None


class PlanCreate(PlanFields):
    year: int = Field(ge=2000, le=2100)
    type: PlanType
    title: str = Text


class PlanReplace(PlanCreate):
    """PUT: the whole plan; omitted lists become empty."""


class PlannedInspectionCreate(_Closed):
    unit_id: UUID
    window_start: date
    window_end: date
    form: Form
    team_id: UUID | None = None
    note: str | None = Field(None, max_length=2000)


class Decision(_Closed):
    number: str = Field(min_length=3, max_length=100)
    date: date
    signer: str = Text


class Approval(_Closed):
    decision: Decision


class Amendment(_Closed):
    reason: str = Text
    decision: Decision | None = None
    changes: PlanFields | None = None
    add: list[PlannedInspectionCreate] = Field(default_factory=list, max_length=500)
    remove: list[UUID] = Field(default_factory=list, max_length=500)


class Closing(_Closed):
    closed_on: date | None = None
