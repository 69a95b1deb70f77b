"""The event envelope (CloudEvents 1.0 on Kafka, binary mode) and the catalogue of event types."""
from shared.events.envelope import Event, EnvelopeError
from shared.events.catalogue import CATALOGUE, Catalogue, EventType, SchemaError

__all__ = ["Event", "EnvelopeError", "CATALOGUE", "Catalogue", "EventType", "SchemaError"]
