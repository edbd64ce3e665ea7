"""Readers: one module per format family, each streaming its input into Parquet.

``text`` (encodings, lines) → ``sniff`` (delimiter, preamble, header) → ``blocks`` (raw
blocks to Arrow where regular, else ``records``: regular rows) → ``delimited`` (typing via
``coltypes``) · ``json_records`` ·
``excel`` · ``parquet`` · ``archives`` (gzip, zip: limits and path checks) · ``opaque``.
``passes`` and ``sink`` hold what they share: one schema per file, bounded row groups.
"""

from __future__ import annotations

import csv

# The csv module refuses fields over 128 KiB; our own limit (limits.max_line_bytes) is the
# one that should apply, so lift the module's process-wide cap once.
csv.field_size_limit(2**31 - 1)
