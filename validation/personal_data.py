"""Personal-data scan: Swedish identity numbers, e-mail, phone, IBAN and bankgiro in Arrow data.

The ingestion pipeline's calls::

    report = scan_parquet(path)           # streams record batches; memory stays bounded
    report.requires_review                # hold the version for an organisation admin?
    report.to_json()                      # stored with the version; from_json() reads it back
    validate(path, suite, mask=report.value_mask())   # hide flagged columns in other reports

``scan_table`` does the same for an in-memory ``pyarrow.Table``. Findings carry counts and
*masked* examples only: full values are never stored, returned, logged or put into exception
messages. ``mask_value(type, value)`` masks a value the same way for a renderer.

What is detected, the confidence levels and the review rule: docs/personal-data.md. The code
lives in :mod:`validation.pii` (detectors, column names, report, scanning).
"""

from __future__ import annotations

from validation.pii.detectors import (
    BANKGIRO,
    COLUMN_NAME_HINT,
    EMAIL,
    FINDING_TYPES,
    IBAN,
    PERSONNUMMER,
    PHONE_SE,
    SAMORDNINGSNUMMER,
    mask_value,
)
from validation.pii.names import column_name_hint
from validation.pii.report import Confidence, Finding, PersonalDataReport
from validation.pii.scan import scan_parquet, scan_table

__all__ = [
    "BANKGIRO",
    "COLUMN_NAME_HINT",
    "EMAIL",
    "FINDING_TYPES",
    "IBAN",
    "PERSONNUMMER",
    "PHONE_SE",
    "SAMORDNINGSNUMMER",
    "Confidence",
    "Finding",
    "PersonalDataReport",
    "column_name_hint",
    "mask_value",
    "scan_parquet",
    "scan_table",
]
