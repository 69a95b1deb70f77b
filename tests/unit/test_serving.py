"""Serving with several workers: each worker finds the service definition again by its import path."""
from pathlib import Path

import pytest

from services.inspections.bootstrap import SERVICE
from shared.serving import import_path, load_definition
from shared.service import ServiceDefinition

ELSEWHERE = ServiceDefinition(name="elsewhere", settings_cls=type(SERVICE.settings()), migrations=Path("."),
                              create_app=SERVICE.create_app)


def test_a_worker_loads_the_same_service_definition():
    path = import_path(SERVICE)
    assert path == "services.inspections.bootstrap:SERVICE"
    assert load_definition(path) is SERVICE


def test_a_definition_outside_the_services_is_found_by_the_module_holding_it():
    assert load_definition(import_path(ELSEWHERE)) is ELSEWHERE


def test_a_definition_no_module_holds_cannot_run_workers():
    with pytest.raises(LookupError):
        import_path(ServiceDefinition(name="nowhere", settings_cls=type(SERVICE.settings()), migrations=Path("."),
                                      create_app=SERVICE.create_app))
