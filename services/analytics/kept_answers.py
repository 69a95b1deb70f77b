"""Answers kept between questions while the province's read models are unchanged.

A dashboard is asked far more often than its province's data changes, and computing one costs
milliseconds of PostgreSQL and Python (the central view, summing every province's counters, close to
half a second at 10 million findings). Each entry remembers the province's change count
(store.read_model_versions) it was computed at; a different count means it is computed again. Nothing
expires by time: the count is exact, and "today" and every other filter are part of the question.

Kept in the API process (no network, and a deploy of new code starts empty, so a changed computation
never meets answers of the old one); each process of a scaled-out service computes its own once.
Bounded by bytes, not entries: entries differ in size by orders of magnitude (one province's line of
the central view against a large province's rendered scorecard table).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable


class KeptAnswers:
    """A map (province, question) -> (change count, value) of at most ``max_bytes`` (as their owners
    weigh them); least recently used dropped first. Values are shared, never copied: keep immutable ones."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, Hashable], tuple[int, Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # API routes run in a thread pool

    def get(self, tenant: str, question: Hashable, version: int) -> Any | None:
        """The value computed at this change count, or None."""
        with self._lock:
            entry = self._entries.get((tenant, question))
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end((tenant, question))
            return entry[1]

    def put(self, tenant: str, question: Hashable, version: int, value: Any, size: int) -> None:
        """Keep ``value`` computed after reading ``version`` (it may be newer than it, never older)."""
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop((tenant, question), None)
            if old is not None:
                self._bytes -= old[2]
            self._entries[(tenant, question)] = (version, value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._bytes -= self._entries.popitem(last=False)[1][2]
