"""The central view's per-province figures, kept between questions while the province's data is unchanged.

The central view sums every province's counters (at 10 million findings about 820,000 rows, close to
a second), but between two questions usually only the provinces where inspections are going on have
changed. Each entry remembers the province's change count (store.read_model_versions) it was computed
at; a different count means it is computed again. Nothing expires by time: the count is exact, and
"today" and every other filter are part of the key.

Kept in the API process (no network, and a deploy of new code starts empty, so a changed computation
never meets figures of the old one); each process of a scaled-out service computes its own once.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable


class SummaryCache:
    """A bounded map (province, question) -> (change count, figures); least recently used dropped first."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, Hashable], tuple[int, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()  # API routes run in a thread pool

    def get(self, tenant: str, question: Hashable, version: int) -> dict[str, Any] | None:
        """A copy of the figures computed at this change count, or None."""
        with self._lock:
            entry = self._entries.get((tenant, question))
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end((tenant, question))
            return dict(entry[1])

    def put(self, tenant: str, question: Hashable, version: int, figures: dict[str, Any]) -> None:
        """Keep figures computed after reading ``version`` (they may be newer than it, never older)."""
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[(tenant, question)] = (version, dict(figures))
            self._entries.move_to_end((tenant, question))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
