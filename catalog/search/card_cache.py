"""Serialised search-result bodies of datasets, kept per snapshot and carried across writes.

Reading a page's rows (one statement with subqueries for tags, themes and the newest
published version) and serialising them was about a fifth of a cached search's CPU in the
server (docs/benchmarks.md, "Catalog search"). A body depends only on rows whose changes
reach the search change log (the dataset, its tags, themes and versions; any organisation
change) and on the licence and agreement rows it names, which are never updated in place (a
new agreement version is a new row; the SPDX list changes only with a release). So a body
stays right until the log names its dataset or an organisation.

Each snapshot has its own cache. A refresh that patches the snapshot gives the new one the
old one's bodies minus those of the datasets the log named; a full load, or an organisation
change, starts empty. A search fills the cache of the snapshot it searched, with bodies read
after that snapshot's change log: never older than what the snapshot knows. A body read
before a write and stored after the refresh that saw the write goes into the old snapshot's
cache only, which no later search uses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

# Bodies kept per process (about 0.7 KB each): the datasets that recent pages showed.
CARD_CACHE_ENTRIES = 20_000


class CardCache:
    """Dataset id -> its body as JSON (``DatasetPublic``), least recently used dropped."""

    def __init__(self, capacity: int | None = None) -> None:
        self._capacity = CARD_CACHE_ENTRIES if capacity is None else capacity
        self._bodies: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._bodies)

    def get_many(self, ids: Iterable[int]) -> dict[int, bytes]:
        with self._lock:
            found = {}
            for dataset_id in ids:
                body = self._bodies.get(dataset_id)
                if body is not None:
                    self._bodies.move_to_end(dataset_id)
                    found[dataset_id] = body
            return found

    def put_many(self, bodies: dict[int, bytes]) -> None:
        if self._capacity <= 0:
            return
        with self._lock:
            self._bodies.update(bodies)
            for dataset_id in bodies:
                self._bodies.move_to_end(dataset_id)
            while len(self._bodies) > self._capacity:
                self._bodies.popitem(last=False)

    def inherit(self, older: CardCache, *, changed: set[int]) -> None:
        """Take ``older``'s bodies except those of ``changed`` datasets (this cache is new)."""
        with older._lock:
            kept = [(k, v) for k, v in older._bodies.items() if k not in changed]
        with self._lock:
            self._bodies = OrderedDict(kept[-self._capacity :] if self._capacity > 0 else [])
