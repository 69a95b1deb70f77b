"""Coverage rules of a plan, as data, evaluated against the unit tree and the units inspected.

A rule selects units by level and/or kind. Without ``min_count`` every selected unit must be
inspected; with it, at least that many; with ``per_level`` too, at least that many under each unit
of that level that has selectable units under it ("at least 1 commune under each district").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class Unit:
    id: str
    level: int
    kind: str
    parent_id: str | None = None


@dataclass(frozen=True)
class CoverageRule:
    id: str
    description: str
    level: int | None = None
    kind: str | None = None
    min_count: int | None = None
    per_level: int | None = None

    def selects(self, unit: Unit) -> bool:
        return (self.level is None or unit.level == self.level) and (self.kind is None or unit.kind == self.kind)


@dataclass
class RuleResult:
    rule_id: str
    description: str
    required: int
    covered: int
    shortfall: int
    satisfied: bool
    # "every" rules: the selected units not inspected; per_level rules: the groups that fall short;
    # plain "at least n" rules: empty (any selected unit would do, see ``candidates``).
    missing: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)


def ancestor_at(by_id: Mapping[str, Any], unit_id: str, level: int) -> str | None:
    """The unit itself or its nearest ancestor at ``level`` along ``parent_id`` links (ids are the keys)."""
    current_id: str | None = unit_id
    for _ in range(20):  # bounded: bad reference data with a cycle must not loop forever
        current = by_id.get(current_id) if current_id else None
        if current is None:
            return None
        if current.level == level:
            return current_id
        current_id = current.parent_id
    return None


def evaluate(rules: Iterable[CoverageRule], units: Iterable[Unit], covered_unit_ids: Iterable[str]) -> list[RuleResult]:
    """How far each rule is met by inspections of ``covered_unit_ids`` over the tree ``units``."""
    units = list(units)
    by_id = {u.id: u for u in units}
    covered = set(covered_unit_ids)
    results = []
    for rule in rules:
        selected = sorted((u for u in units if rule.selects(u)), key=lambda u: u.id)
        hit = [u.id for u in selected if u.id in covered]
        not_hit = [u.id for u in selected if u.id not in covered]
        if rule.min_count is None:
            required, got, missing = len(selected), len(hit), not_hit
            results.append(RuleResult(rule.id, rule.description, required, got, required - got, got == required, missing))
        elif rule.per_level is None:
            got = min(len(hit), rule.min_count)
            short = rule.min_count - got
            results.append(RuleResult(rule.id, rule.description, rule.min_count, got, short, short == 0, [], not_hit if short else []))
        else:
            # The groups are the units of that level with something selectable under them: "each
            # district" means districts, not the departments that share level 2 with them.
            groups = sorted({g for u in selected if (g := ancestor_at(by_id, u.id, rule.per_level)) is not None})
            per_group = {g: 0 for g in groups}
            for uid in hit:
                group = ancestor_at(by_id, uid, rule.per_level)
                if group in per_group:
                    per_group[group] += 1
            required = rule.min_count * len(groups)
            got = sum(min(rule.min_count, n) for n in per_group.values())
            missing = [g for g, n in per_group.items() if n < rule.min_count]
            candidates = [u for u in not_hit if ancestor_at(by_id, u, rule.per_level) in set(missing)]
            results.append(RuleResult(rule.id, rule.description, required, got, required - got, not missing, missing, candidates))
    return results
