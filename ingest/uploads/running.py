"""The sha256 of each upload so far, kept in the memory of the process that received it.

hashlib cannot export a SHA-256 state, so the hash cannot be stored with the upload for the
next request. Instead each process keeps, per upload, the hash of the bytes it received and
the offset they reach. A PATCH at exactly that offset continues the hash; a PATCH that finds
no state at its offset (the previous chunk went to another process or replica, or this one
restarted) stores its chunk without it, and completion then reads the file once
(``staging.digest_chunks``) instead.

A state at the upload's current offset can only be this process's hash of exactly the
recorded chunks: offsets only grow, each offset is left by exactly one recorded chunk (the
conditional UPDATE in ``receiving.append``), a state moves only after that UPDATE committed,
and recorded chunks are never replaced.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

# Uploads in progress per process whose state is kept; the least recently used go first
# (a state is a few hundred bytes). An evicted upload is only slower to complete.
CAPACITY = 4096


class RunningDigests:
    """Per upload id: (the offset the hash covers, the hash of bytes 0..offset)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._states: OrderedDict[str, tuple[int, hashlib._Hash]] = OrderedDict()
        self._lock = threading.Lock()

    def resume(self, upload_id: str, offset: int) -> hashlib._Hash | None:
        """A hash of bytes 0..``offset`` to continue with this PATCH's bytes, or None.

        A copy: a PATCH that loses a race (or fails) must not change the kept state.
        """
        if offset == 0:
            return hashlib.sha256()
        with self._lock:
            state = self._states.get(upload_id)
            if state is None or state[0] != offset:
                return None
            self._states.move_to_end(upload_id)
            return state[1].copy()

    def advance(self, upload_id: str, start: int, end: int, digest: hashlib._Hash) -> None:
        """Record that ``digest`` covers bytes 0..``end``, once the chunk from ``start`` to
        ``end`` is committed, if the kept state was the one this PATCH continued."""
        with self._lock:
            state = self._states.get(upload_id)
            if start != 0 and (state is None or state[0] != start):
                return
            self._states[upload_id] = (end, digest)
            self._states.move_to_end(upload_id)
            while len(self._states) > self._capacity:
                self._states.popitem(last=False)

    def hexdigest(self, upload_id: str, length: int) -> str | None:
        """The whole upload's sha256 if this process has hashed all ``length`` bytes."""
        with self._lock:
            state = self._states.get(upload_id)
            return state[1].hexdigest() if state is not None and state[0] == length else None

    def forget(self, upload_id: str) -> None:
        with self._lock:
            self._states.pop(upload_id, None)


# This process's states: one per process is the point (see the module docstring).
RUNNING = RunningDigests()
