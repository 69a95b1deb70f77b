"""Identifiers from shared.ids: well-formed, and never the same sequence in a forked child."""
from __future__ import annotations

import os
import re
import uuid

from shared.ids import new_uuid, random_hex


def test_uuids_are_version_4_and_hex_ids_have_their_length():
    made = [new_uuid() for _ in range(10_000)]
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in made)
    assert len(set(made)) == len(made)
    assert re.fullmatch(r"[0-9a-f]{32}", random_hex(16)) and re.fullmatch(r"[0-9a-f]{16}", random_hex(8))


def test_a_forked_child_does_not_repeat_its_parents_identifiers():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it makes next, as a Celery pool process would
        os.write(write, str(new_uuid()).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    assert child != str(new_uuid())  # without the reseed at fork both make the same next one
