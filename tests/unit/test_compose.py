"""docker-compose.yml cannot be started here (no Docker engine), so it is checked against the code:
every service, process, port, module and variable it names must exist."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from infra.topology import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
CONTAINERS = COMPOSE["services"]
CLI_COMMANDS = {"migrate", "api", "relay", "consume", "workers", "replay", "dead-letters", "openapi", "audit-verify"}


def test_infrastructure_is_kafka_kraft_postgres_redis():
    assert CONTAINERS["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert CONTAINERS["kafka"]["image"].startswith("apache/kafka")
    assert CONTAINERS["postgres"]["image"].startswith("postgres:")
    assert CONTAINERS["redis"]["image"].startswith("redis:")
    assert "noeviction" in CONTAINERS["redis"]["command"]


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_every_service_has_its_processes_and_database(spec):
    definition = spec.definition()
    mine = {name.split("-", 1)[1] for name in CONTAINERS if name.startswith(spec.name + "-")}
    expected = {"migrate", "api", "relay", "consumer"} | ({"worker", "beat"} if definition.celery else set())
    assert mine == expected
    init = (ROOT / "infra" / "postgres-init.sql").read_text()
    assert f"CREATE DATABASE inspection_{spec.name} OWNER inspection_{spec.name}" in init
    assert CONTAINERS[f"{spec.name}-api"]["ports"] == [f"{spec.port}:8000"]


@pytest.mark.parametrize("name", [n for n in CONTAINERS if "-" in n])
def test_each_process_container_names_real_modules_commands_and_settings(name):
    container = CONTAINERS[name]
    service = name.split("-", 1)[0]
    command = container["command"]
    if command[0] == "python":
        assert command[1:3] == ["-m", f"services.{service}"]
        assert command[3] in CLI_COMMANDS
    else:
        assert command[0] == "celery"
        module, attr = command[2].split(":")
        assert hasattr(importlib.import_module(module), attr)
        assert importlib.import_module(f"services.{service}.bootstrap").SERVICE.celery == command[2]
    settings_cls = importlib.import_module(f"services.{service}.bootstrap").SERVICE.settings_cls
    prefix = service.upper() + "_"
    for var in container["environment"]:
        assert var.startswith(prefix), var
        assert var[len(prefix):].lower() in settings_cls.model_fields, f"{var} is not a setting of {service}"
    for dependency in container.get("depends_on", {}):
        assert dependency in CONTAINERS


def test_ports_are_unique_and_volumes_declared():
    ports = [p.split(":")[0] for c in CONTAINERS.values() for p in c.get("ports", [])]
    assert len(ports) == len(set(ports))
    for container in CONTAINERS.values():
        for volume in container.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("./"):
                assert source in COMPOSE["volumes"]
            else:
                assert (ROOT / source).exists(), source


def test_readme_says_compose_is_validated_not_run():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker-compose.yml" in readme and re.search(r"validated by .*test_compose", readme)


def test_console_is_deployed_and_configured_with_real_settings():
    from services.console.settings import ConsoleSettings

    console = CONTAINERS["console"]
    assert console["command"] == ["python", "-m", "services.console"]
    assert console["ports"] == ["8000:8000"]
    for var in console["environment"]:
        assert var.startswith("CONSOLE_") and var[len("CONSOLE_"):].lower() in ConsoleSettings.model_fields, var
    # It reaches every service's API container by name.
    for spec in SERVICES:
        assert console["environment"][f"CONSOLE_{spec.name.upper()}_URL"] == f"http://{spec.name}-api:8000"
        assert f"{spec.name}-api" in console["depends_on"]
    assert console["environment"]["CONSOLE_DEMO"] == "false"
