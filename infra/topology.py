"""What the deployment is made of: the services, their ports and their processes (stack and compose)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int

    @property
    def env_prefix(self) -> str:
        return self.name.upper() + "_"

    def definition(self):
        return importlib.import_module(f"services.{self.name}.bootstrap").SERVICE

    def processes(self) -> dict[str, list[str]]:
        """Process name -> argv (after the Python interpreter) for the local stack."""
        procs = {"api": ["-m", f"services.{self.name}", "api"], "workers": ["-m", f"services.{self.name}", "workers"]}
        celery = self.definition().celery
        if celery:
            procs["celery"] = ["-m", "celery", "-A", celery, "worker", "--beat", "--concurrency", "2", "--loglevel", "INFO",
                               "--schedule", f".local/celerybeat-{self.name}"]
        return procs


@dataclass(frozen=True)
class ConsoleSpec:
    """The web console: the only thing browsers talk to; it calls the four services with the user's token."""
    name: str = "console"
    port: int = 8000

    def processes(self) -> dict[str, list[str]]:
        return {"web": ["-m", "services.console"]}


CONSOLE = ConsoleSpec()

SERVICES = [
    ServiceSpec("plans", 8001),
    ServiceSpec("inspections", 8002),
    ServiceSpec("notifications", 8003),
    ServiceSpec("analytics", 8004),
]
