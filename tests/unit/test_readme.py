"""The README is the front door: its commands, tables and CI entry point must match the code."""
from pathlib import Path

from infra import readme_tables

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_and_permission_tables_are_current():
    assert readme_tables.render(README) == README, "run: .venv/bin/python -m infra.readme_tables --write"
    # The tables are really there, not just their markers.
    assert "| `<SERVICE>_DATABASE_URL` |" in README
    assert "| `INSPECTIONS_EVIDENCE_MAX_BYTES` |" in README
    assert "| `remediation:report` |" in README


def test_ci_runs_the_readme_test_command():
    assert "./infra/test" in README and "./infra/up" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./infra/test" in ci
