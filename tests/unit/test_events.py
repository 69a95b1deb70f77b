"""The envelope and the catalogue: pure, no broker."""
import json
import uuid
from pathlib import Path

import pytest

from shared import asyncapi
from shared.events import CATALOGUE, EnvelopeError, Event, SchemaError

ROOT = Path(__file__).resolve().parents[2]


def violation(**over):
    data = {"finding_id": str(uuid.uuid4()), "inspection_id": str(uuid.uuid4()), "unit_id": str(uuid.uuid4()),
            "plan_id": None, "criterion_code": "KLKC.02", "severity": "serious",
            "description": "Công chức uống rượu bia trong giờ làm việc tại Bộ phận Một cửa xã Hòa Minh",
            "officials_count": 1, "recorded_by": "Trần Thị Bích", "recorded_at": "2026-03-02T08:15:00+07:00"}
    data.update(over)
    return data


def test_round_trip_through_kafka_headers_keeps_vietnamese_text():
    event = CATALOGUE.new_event("violation.recorded", tenant="vinh-long", source="/inspection-platform/inspections",
                                data=violation(), traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    back = Event.from_kafka(event.headers(), event.value())
    assert back == event
    assert back.data["description"].startswith("Công chức uống rượu bia")
    assert CATALOGUE.validate(back).type == "violation.recorded"
    assert back.subject == back.data["inspection_id"] == CATALOGUE.key(back)


def test_payload_is_checked_when_produced_naming_the_field():
    with pytest.raises(SchemaError, match="severity"):
        CATALOGUE.new_event("violation.recorded", tenant="t", source="/x", data=violation(severity="catastrophic"))
    with pytest.raises(SchemaError, match="Additional properties"):
        CATALOGUE.new_event("violation.recorded", tenant="t", source="/x", data=violation(officials=["Nguyễn Văn A"]))


@pytest.mark.parametrize("headers,value,reason", [
    ([], b"{}", "missing CloudEvents attributes"),
    ([("ce_id", b"1"), ("ce_source", b"/x"), ("ce_specversion", b"1.0"), ("ce_type", b"plan.closed"),
      ("ce_tenant", b"t"), ("ce_dataschema", b"urn:x")], b"{}", "not a UUID"),
    ([("ce_id", str(uuid.uuid4()).encode()), ("ce_source", b"/x"), ("ce_specversion", b"0.3"), ("ce_type", b"plan.closed"),
      ("ce_tenant", b"t"), ("ce_dataschema", b"urn:x")], b"{}", "specversion"),
    ([("ce_id", str(uuid.uuid4()).encode()), ("ce_source", b"/x"), ("ce_specversion", b"1.0"), ("ce_type", b"plan.closed"),
      ("ce_tenant", b"t"), ("ce_dataschema", b"urn:x")], b"\xff\xfe", "not JSON"),
])
def test_malformed_messages_are_envelope_errors(headers, value, reason):
    with pytest.raises(EnvelopeError, match=reason):
        Event.from_kafka(headers, value)


def test_consumed_event_must_match_the_schema_it_names():
    event = CATALOGUE.new_event("plan.closed", tenant="t", source="/x",
                                data={"plan_id": str(uuid.uuid4()), "version": 1, "year": 2026, "closed_on": "2026-12-31"})
    forged = Event(**{**event.__dict__, "type": "plan.approved"})
    with pytest.raises(SchemaError, match="not for type"):
        CATALOGUE.validate(forged)


def test_every_schema_is_closed_and_names_topic_key_and_producer():
    for et in CATALOGUE.types():
        assert et.schema["additionalProperties"] is False, et.type
        assert et.key_field in et.schema["required"], et.type
        assert et.producer in {"plans", "inspections", "notifications", "analytics"}
        assert et.topic_family.startswith(et.producer + "."), et.type


_PROBES = [None, "", "x", "a" * 3000, str(uuid.uuid4()), "{" + str(uuid.uuid4()) + "}", "2026-01-02", "02/01/2026",
           0, 1, -1, 2.5, True, [], [1], {}, "reprimand"]


def test_compiled_check_of_nullable_fields_accepts_exactly_what_jsonschema_accepts():
    """The compiled check writes ``anyOf: [X, null]`` as X admitting null; on every such field of every
    schema it must agree with jsonschema (accepting more would let a bad payload through)."""
    import fastjsonschema
    from jsonschema import Draft202012Validator, FormatChecker

    from shared.events.catalogue import _UUID, _nullable, _plain

    compared = 0
    for et in CATALOGUE.types():
        for name, sub in et.schema["properties"].items():
            if "anyOf" not in sub or not _plain(sub):
                continue
            assert "anyOf" not in _nullable(sub), (et.type, name)  # each of ours is rewritten
            reference = Draft202012Validator(sub, format_checker=FormatChecker())
            compiled = fastjsonschema.compile(_nullable(sub), formats={"uuid": _UUID}, use_default=False)
            for probe in _PROBES:
                try:
                    compiled(probe)
                    accepted = True
                except fastjsonschema.JsonSchemaException:
                    accepted = False
                assert accepted == reference.is_valid(probe), (et.type, name, probe)
                compared += 1
    assert compared > 300


def test_null_in_an_optional_field_passes_the_compiled_check():
    # Not a fallback to jsonschema (several times slower) for every finding without a plan.
    CATALOGUE.latest("violation.recorded").fast_validator(violation(plan_id=None))
    event = CATALOGUE.new_event("violation.recorded", tenant="t", source="/x", data=violation())
    with pytest.raises(SchemaError, match="plan_id"):
        CATALOGUE.validate(Event(**{**event.__dict__, "data": violation(plan_id="not-a-uuid")}))


def test_published_asyncapi_document_is_up_to_date():
    committed = json.loads((ROOT / "docs" / "asyncapi.json").read_text(encoding="utf-8"))
    assert committed == asyncapi.document(), "regenerate: python -m shared.asyncapi > docs/asyncapi.json"
    assert set(committed["components"]["messages"]) == {et.type.replace(".", "_") for et in CATALOGUE.types()}
