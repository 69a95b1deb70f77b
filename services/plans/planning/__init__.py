"""Planning: checklists, inspection teams, annual plans (coverage, conflicts of interest, approval, DOCX).

Decisions worth knowing:
- A plan has two counters. ``revision`` is the ETag and moves on every change (If-Match guards edits);
  ``version`` is what a decision approved: 1 at approval, +1 per amendment, each frozen in plan_versions.
- An amendment is one request (changes, added and removed inspections, reason, decision), so the plan
  is never half-amended and plan.amended, inspection.scheduled and inspection.cancelled leave together.
  Moving an inspection is removing it and adding a new one: consumers see a cancellation and a new id.
- The planned inspection's uuid is the inspection_id the other services use for its whole life.
- Checklist versions are immutable once published, because findings refer to a criterion of a version.
- Coverage and conflicts read the unit tree as of a date (default 1 January of the plan's year), so a
  2022 plan is judged against the districts that existed then.
"""
