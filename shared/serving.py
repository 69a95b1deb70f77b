"""Serving a service's API with uvicorn: one process, or ``<SERVICE>_API_WORKERS`` processes on one port.

With several workers uvicorn starts each one afresh and builds the app in it, so it needs the service
definition as an import path (found here) and an app factory (``worker_app``). Everything a worker keeps
per process stays correct: the rate limit is counted in Redis, readiness is asked of the worker that
answers (each has its own pool), and metrics are written to files every worker shares
(prometheus_client's multiprocess mode), so ``/metrics`` counts the requests of all of them.
"""
from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile

from fastapi import FastAPI

from shared.logging import configure_logging

# Where a worker process finds its service definition ("module:attribute").
DEFINITION_VAR = "SERVICE_DEFINITION"
MULTIPROC_VAR = "PROMETHEUS_MULTIPROC_DIR"


def import_path(definition) -> str:
    """The "module:attribute" under which ``definition`` can be imported again in a new process."""
    # The composition root first (services/<name>/bootstrap.py): other modules may hold the same object
    # under an import, and importing them could bring in more than the API needs.
    conventional = sys.modules.get(f"services.{definition.name}.bootstrap")
    if getattr(conventional, "SERVICE", None) is definition:
        return f"services.{definition.name}.bootstrap:SERVICE"
    for name, module in list(sys.modules.items()):
        if name == "__main__" or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if value is definition:
                return f"{name}:{attribute}"
    raise LookupError(f"service definition {definition.name!r} is not a module attribute; cannot start workers")


def load_definition(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def worker_app() -> FastAPI:
    """The app factory each uvicorn worker calls: settings from the environment, as the parent read them."""
    definition = load_definition(os.environ[DEFINITION_VAR])
    settings = definition.settings()
    configure_logging(definition.name, settings.log_level)
    return definition.create_app(definition.runtime(settings))


def serve(definition, settings) -> None:
    import uvicorn

    options = dict(host=settings.api_host, port=settings.api_port, log_config=None, access_log=False)
    if settings.api_workers <= 1:
        uvicorn.run(definition.create_app(definition.runtime(settings)), **options)
        return
    os.environ[DEFINITION_VAR] = import_path(definition)
    own_dir = None
    if not os.environ.get(MULTIPROC_VAR):
        # A fresh directory per start: files left by an earlier run would add its counts to ours.
        own_dir = os.environ[MULTIPROC_VAR] = tempfile.mkdtemp(prefix=f"{definition.name}-metrics-")
    try:
        uvicorn.run("shared.serving:worker_app", factory=True, workers=settings.api_workers, **options)
    finally:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)
