"""No service imports another service's code; they talk through events (and the console through HTTP)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_only_itself_and_shared(service):
    offending = []
    for path in (ROOT / "services" / service).rglob("*.py"):
        for module in imported_modules(path):
            if module.startswith("services.") and not module.startswith(f"services.{service}"):
                offending.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offending, "\n".join(offending)


def test_shared_imports_no_service():
    offending = [f"{p.relative_to(ROOT)} imports {m}" for p in (ROOT / "shared").rglob("*.py")
                 for m in imported_modules(p) if m.startswith("services")]
    assert not offending, "\n".join(offending)


def test_every_service_has_the_same_shape():
    for service in SERVICES:
        if service == "console":
            continue  # the console is a web front, not an event-driven service
        folder = ROOT / "services" / service
        for part in ("api.py", "bootstrap.py", "settings.py", "__main__.py", "migrations"):
            assert (folder / part).exists(), f"{service} lacks {part}"
