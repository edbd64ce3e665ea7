"""The array structures of a search snapshot: value dictionaries, many-valued attributes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Vocabulary:
    """The distinct values of an attribute; a value's code is its index."""

    values: tuple[str, ...] = ()
    codes: dict[str, int] = field(default_factory=dict)

    def extended(self, values: Iterable[str]) -> Vocabulary:
        new = [v for v in dict.fromkeys(values) if v not in self.codes]
        if not new:
            return self
        all_ = (*self.values, *new)
        return Vocabulary(all_, {v: i for i, v in enumerate(all_)})


@dataclass(frozen=True)
class Multi:
    """A many-valued attribute (tags, themes, formats) as sorted (position, code) pairs,
    indexed both ways: a position's codes, and a code's positions."""

    pos: Ints
    code: Ints
    starts: Ints  # the pairs of position p are [starts[p], starts[p + 1])
    by_code: Ints  # positions grouped by code
    code_starts: Ints

    @classmethod
    def build(cls, pos: Ints, code: Ints, n: int, k: int) -> Multi:
        order = np.lexsort((code, pos))
        pos, code = pos[order], code[order]
        starts = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(pos, minlength=n), out=starts[1:])
        code_starts = np.zeros(k + 1, np.int64)
        np.cumsum(np.bincount(code, minlength=k), out=code_starts[1:])
        return cls(pos, code, starts, pos[np.argsort(code, kind="stable")], code_starts)

    def positions(self, code: int) -> Ints:
        return self.by_code[self.code_starts[code] : self.code_starts[code + 1]]

    def codes_of(self, idx: Ints, n: int) -> Ints:
        """The codes of every pair of the positions ``idx`` (sorted, distinct)."""
        if len(idx) * 8 < n:  # few positions: gather their pairs
            lengths = self.starts[idx + 1] - self.starts[idx]
            ends = np.cumsum(lengths)
            gather = np.repeat(self.starts[idx] - ends + lengths, lengths)
            return self.code[gather + np.arange(len(gather))]
        wanted = np.zeros(n, bool)
        wanted[idx] = True
        return self.code[wanted[self.pos]]
