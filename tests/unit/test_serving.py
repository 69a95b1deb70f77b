"""Serving with several workers: each worker finds the service definition again by its import path."""
from services.inspections.bootstrap import SERVICE
from shared.serving import import_path, load_definition


def test_a_worker_loads_the_same_service_definition():
    path = import_path(SERVICE)
    assert path == "services.inspections.bootstrap:SERVICE"
    assert load_definition(path) is SERVICE
