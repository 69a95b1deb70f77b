"""The shared JSON body writes exactly what JSONResponse(jsonable_encoder(body)) wrote, faster."""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import uuid

import pytest
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shared.api import JSONBody


class Colour(enum.Enum):
    RED = "red"


class Level(str, enum.Enum):
    HIGH = "high"


@dataclasses.dataclass
class Row:
    n: int
    on: dt.date
    refs: tuple = ()


class Model(BaseModel):
    a: int
    at: dt.datetime


HANOI = dt.timezone(dt.timedelta(hours=7))

BODIES = [
    {"n": 1, "rates": [1.5, 0.1, 0.3333, 1e16, 1e-7, -0.0], "none": None, "yes": True,
     "text": "Tiếp nhận hồ sơ \u2028 \"quá hạn\" \\ /", "enum": Colour.RED, "str_enum": Level.HIGH},
    {"id": uuid.uuid4(), "day": dt.date(2026, 1, 2), "at": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=HANOI),
     "naive": dt.datetime(2026, 1, 2), "dec": decimal.Decimal("1.50"), "whole": decimal.Decimal("12"),
     "set": {3}, "frozen": frozenset(), "pair": (1, "x"), "span": dt.timedelta(seconds=90), "time": dt.time(1, 2)},
    [Row(1, dt.date(2026, 3, 1), (uuid.UUID(int=5),)), Model(a=1, at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))],
    {1: "int key", 2.5: "float key", True: "bool key", None: "null key"},
    {dt.date(2026, 1, 1): "date key", uuid.UUID(int=1): "uuid key"},
    {"deep": [{"x": [dt.date(2020, 1, 1), {"y": uuid.UUID(int=2)}]}]},
    "plain", 3, None, [],
]


@pytest.mark.parametrize("body", BODIES)
def test_same_bytes_and_headers_as_jsonable_encoder(body):
    old, new = JSONResponse(jsonable_encoder(body), status_code=201), JSONBody(body, status_code=201)
    assert new.body == old.body
    assert new.headers.raw == old.headers.raw
    assert new.status_code == 201


def test_nan_is_refused_as_before():
    for build in (lambda: JSONResponse(jsonable_encoder({"x": float("nan")})), lambda: JSONBody({"x": float("nan")})):
        with pytest.raises(ValueError):
            build()
