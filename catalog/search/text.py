"""How text becomes words, the same on both engines (see the package docstring)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

MAX_QUERY_CHARS = 1000
MAX_QUERY_TOKENS = 32
MAX_TOKEN_CHARS = 100  # well below PostgreSQL's 2047-byte limit on a lexeme

_WORD = re.compile(r"[^\W_]+")


def normalise(text_: str) -> str:
    """Lower-case and strip diacritics (``Borås`` -> ``boras``); see the package docstring."""
    decomposed = unicodedata.normalize("NFKD", text_.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text_: str) -> list[str]:
    """The words of a text as both engines index them."""
    return _WORD.findall(normalise(text_))


def document(*parts: str) -> str:
    """The token stream the index stores for some text."""
    return " ".join(tok for part in parts for tok in tokenize(part))


def query_tokens(q: str | None) -> list[str]:
    """The tokens of a user's query, capped; empty when it has no letters or digits."""
    if not q:
        return []
    return [tok[:MAX_TOKEN_CHARS] for tok in tokenize(q[:MAX_QUERY_CHARS])[:MAX_QUERY_TOKENS]]


def fts5_query(tokens: Sequence[str]) -> str:
    """``"a" "b"*``: every token an FTS5 string (implicit AND), the last one a prefix."""
    quoted = ['"' + tok.replace('"', '""') + '"' for tok in tokens]
    return " ".join(quoted) + "*"


def tsquery(tokens: Sequence[str]) -> str:
    """``'a' & 'b':*`` for ``to_tsquery``: the same semantics as :func:`fts5_query`."""
    quoted = ["'" + tok.replace("\\", "\\\\").replace("'", "''") + "'" for tok in tokens]
    quoted[-1] += ":*"
    return " & ".join(quoted)
