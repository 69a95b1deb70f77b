"""Identifiers (UUIDs, trace and span ids) made without a system call.

``uuid.uuid4()`` and ``secrets`` read ``os.urandom``, which releases the GIL around its ``getrandom``
call. In an API process the event loop serves every request while worker threads run the routes, and
the loop, having let go of the GIL, waits for a running thread to give it back: up to the
interpreter's switch interval, 5 ms. With two threads busy, one ``os.urandom(16)`` took 670 µs of wall
time here (0.7 µs alone), and every request made one for its trace id on the loop and two more for its
event. Identifiers need to be unique, not secret, so they come from a per-process generator seeded
from the operating system (seeded again in a forked child, so two Celery pool processes never share a
sequence). Secrets (tokens, keys, verifiers) keep using ``secrets``.
"""
from __future__ import annotations

import os
import random
import uuid

_generator = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=_generator.seed)


def new_uuid() -> uuid.UUID:
    """A random (version 4) UUID."""
    return uuid.UUID(int=_generator.getrandbits(128), version=4)


def random_hex(nbytes: int) -> str:
    """``nbytes`` random bytes as lowercase hex (W3C trace and span ids)."""
    return f"{_generator.getrandbits(nbytes * 8):0{nbytes * 2}x}"
