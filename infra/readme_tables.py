"""The README's settings and permission tables, generated from the code so they cannot drift.

    .venv/bin/python -m infra.readme_tables --write     (rewrites the blocks between the markers)
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from infra.topology import SERVICES
from shared.auth import PERMISSIONS, ROLES
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]


def _default(field) -> str:
    value = field.default
    return "(empty)" if value in ("", None) else f"`{value}`"


def settings_table() -> str:
    lines = ["Common to every service (replace `<SERVICE>` with `PLANS`, `INSPECTIONS`, `NOTIFICATIONS`, `ANALYTICS`):", "",
             "| variable | default | meaning |", "|---|---|---|"]
    for name, field in ServiceSettings.model_fields.items():
        lines.append(f"| `<SERVICE>_{name.upper()}` | {_default(field)} | {field.description or ''} |")
    for spec in SERVICES:
        cls = spec.definition().settings_cls
        own = [(n, f) for n, f in cls.model_fields.items() if n not in ServiceSettings.model_fields]
        if not own:
            continue
        lines += ["", f"Only the {spec.name} service:", "", "| variable | default | meaning |", "|---|---|---|"]
        for name, field in own:
            lines.append(f"| `{spec.env_prefix}{name.upper()}` | {_default(field)} | {field.description or ''} |")
    from services.console.settings import ConsoleSettings

    lines += ["", "The console (`CONSOLE_` prefix; it has no database):", "", "| variable | default | meaning |", "|---|---|---|"]
    for name, field in ConsoleSettings.model_fields.items():
        lines.append(f"| `CONSOLE_{name.upper()}` | {_default(field)} | {field.description or ''} |")
    return "\n".join(lines)


def permissions_table() -> str:
    lines = ["| permission | " + " | ".join(ROLES) + " |", "|---|" + "---|" * len(ROLES)]
    for perm, roles in PERMISSIONS.items():
        lines.append(f"| `{perm}` | " + " | ".join("✔" if r in roles else "" for r in ROLES) + " |")
    return "\n".join(lines)


BLOCKS = {"settings": settings_table, "permissions": permissions_table}


def render(text: str) -> str:
    for name, fn in BLOCKS.items():
        pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
        text, found = pattern.subn(lambda m: m.group(1) + fn() + "\n" + m.group(2), text)
        if found != 1:
            raise ValueError(f"README.md needs exactly one <!-- {name}:begin --> ... <!-- {name}:end --> block")
    return text


if __name__ == "__main__":
    readme = ROOT / "README.md"
    new = render(readme.read_text(encoding="utf-8"))
    if "--write" in sys.argv:
        readme.write_text(new, encoding="utf-8")
    else:
        sys.stdout.write(new)
