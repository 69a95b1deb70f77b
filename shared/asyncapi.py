"""The event catalogue as an AsyncAPI 3.0 document, so other systems can subscribe without our code.

    python -m shared.asyncapi > docs/asyncapi.json
"""
from __future__ import annotations

import json
import sys

from shared.events import CATALOGUE
from shared.events.envelope import _CE_ATTRIBUTES


def _header_schema() -> dict:
    props = {f"ce_{name}": {"type": "string"} for name in _CE_ATTRIBUTES}
    props["ce_tenant"]["description"] = "CloudEvents extension: the province (tenant) the event belongs to"
    props["ce_traceparent"]["description"] = "W3C trace context, continued by every consumer"
    props["ce_dataschema"]["description"] = "URN of the JSON Schema (type and version) the payload follows"
    props["content-type"] = {"type": "string", "const": "application/json"}
    return {"type": "object", "properties": props,
            "required": ["ce_id", "ce_source", "ce_specversion", "ce_type", "ce_time", "ce_dataschema", "ce_tenant", "content-type"]}


def document(topic_prefix: str = "") -> dict:
    channels, operations, messages = {}, {}, {}
    for et in CATALOGUE.types():
        name = et.type.replace(".", "_")
        messages[name] = {
            "name": et.type, "title": et.type, "summary": et.description, "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
            "payload": {k: v for k, v in et.schema.items() if not k.startswith("x-")},
            "bindings": {"kafka": {"key": {"type": "string", "description": f"the aggregate id: payload field {et.key_field}"}}},
            "x-producer": et.producer, "x-version": et.version,
        }
    for family in CATALOGUE.families():
        cid = family.replace(".", "_")
        members = [et for et in CATALOGUE.types() if et.topic_family == family]
        channels[cid] = {
            "address": topic_prefix + family,
            "description": f"Events of the {family} family, keyed by aggregate id so each aggregate's events stay in order. "
                           f"Messages that a consumer cannot process go to '{topic_prefix + family}.dlt'.",
            "messages": {et.type.replace(".", "_"): {"$ref": f"#/components/messages/{et.type.replace('.', '_')}"} for et in members},
        }
        operations[f"receive_{cid}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{cid}"},
                                        "summary": f"Subscribe to {family}"}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Public-service inspection platform events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in Kafka binary content mode (attributes in ce_* headers, JSON payload). "
                           "Every event carries the tenant (province). Payload schemas are closed and versioned; "
                           "new versions only add optional fields, a breaking change is a new event type.",
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": "kafka:9092", "protocol": "kafka", "description": "the deployment's Kafka cluster"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"CloudEventHeaders": _header_schema()}},
    }


if __name__ == "__main__":
    json.dump(document(*sys.argv[1:2]), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
