"""What an upload is for: the tus ``Upload-Metadata`` header, and the rules for its values.

    Upload-Metadata: filename dGVtcC5jc3Y=,dataset c21oaS90ZW1w,sha256 …

Syntax errors (the header itself) are 400s; values that parse but are not acceptable (a
filename with a path in it) are 422s naming the field, e.g. ``Upload-Metadata.filename``.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass

from catalog.errors import InvalidInput
from catalog.schemas import SLUG_PATTERN
from ingest.uploads.errors import BadRequest
from ingest.uploads.models import FILENAME_MAX_BYTES, METADATA_MAX

HEADER = "Upload-Metadata"
_KEY = re.compile(r"^[!-~]+$")  # printable ASCII without space; commas are split out first
_SLUG = re.compile(SLUG_PATTERN)
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;[ -~]*)?$")
# Unicode categories no file name needs: controls (C0, C1, DEL), line and paragraph separators.
_FORBIDDEN_CATEGORIES = {"Cc", "Zl", "Zp"}


@dataclass(frozen=True)
class UploadTarget:
    """Where an upload goes and what it should be, as the client declared it."""

    organisation: str
    dataset: str
    filename: str
    content_type: str | None = None
    sha256: str | None = None


def parse_metadata(header: str) -> dict[str, str]:
    """The pairs of an ``Upload-Metadata`` header, values decoded (base64, then UTF-8)."""
    if len(header) > METADATA_MAX:
        raise BadRequest(f"{HEADER} is longer than {METADATA_MAX} characters", field=HEADER)
    pairs: dict[str, str] = {}
    for item in header.split(","):
        # Clients join pairs with "," and some with ", ": surrounding spaces are not data.
        key, _, value = item.strip().partition(" ")
        if not key:
            raise BadRequest(f"{HEADER} has an empty key", field=HEADER)
        if not _KEY.match(key):
            raise BadRequest(f"{HEADER} key {key!r} is not printable ASCII", field=HEADER)
        if key in pairs:
            raise BadRequest(f"{HEADER} names {key!r} twice", field=HEADER)
        try:
            raw = base64.b64decode(value.strip(), validate=True)
            pairs[key] = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            raise BadRequest(
                f"{HEADER} value of {key!r} is not base64-encoded UTF-8", field=f"{HEADER}.{key}"
            ) from None
    return pairs


def target_from_metadata(header: str | None) -> UploadTarget:
    """The upload's target from its ``Upload-Metadata``; ``filename`` and ``dataset`` are
    required, ``content_type`` and ``sha256`` (of the whole file) optional."""
    pairs = parse_metadata(header) if header and header.strip() else {}
    for required in ("filename", "dataset"):
        if required not in pairs:
            raise InvalidInput(f"{HEADER} must name the {required}", field=f"{HEADER}.{required}")
    organisation, dataset = check_dataset(pairs["dataset"], field=f"{HEADER}.dataset")
    content_type = pairs.get("content_type") or pairs.get("filetype") or None
    sha256 = pairs.get("sha256") or None
    return UploadTarget(
        organisation=organisation,
        dataset=dataset,
        filename=check_filename(pairs["filename"], field=f"{HEADER}.filename"),
        content_type=(
            check_content_type(content_type, field=f"{HEADER}.content_type")
            if content_type
            else None
        ),
        sha256=check_sha256(sha256, field=f"{HEADER}.sha256") if sha256 else None,
    )


def check_filename(name: str, *, field: str) -> str:
    """A plain file name: it becomes part of object keys, so no paths, no tricks."""
    if not name:
        raise InvalidInput("the file name is empty", field=field)
    if "/" in name or "\\" in name:
        raise InvalidInput(
            f"the file name {name!r} contains a path separator; send the name only",
            field=field,
        )
    if name in {".", ".."}:
        raise InvalidInput(f"{name!r} is not a file name", field=field)
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in name):
        raise InvalidInput(f"the file name {name!r} contains control characters", field=field)
    if name != name.strip():
        raise InvalidInput(f"the file name {name!r} starts or ends with white space", field=field)
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput("the file name is not valid Unicode", field=field) from None
    if size > FILENAME_MAX_BYTES:
        raise InvalidInput(
            f"the file name is {size} bytes of UTF-8; the limit is {FILENAME_MAX_BYTES}",
            field=field,
        )
    return name


def check_dataset(value: str, *, field: str) -> tuple[str, str]:
    """``organisation/name``, both slugs as the catalog names them."""
    organisation, sep, name = value.partition("/")
    if not sep or not _SLUG.match(organisation) or not _SLUG.match(name):
        raise InvalidInput(
            f"the dataset {value!r} is not 'organisation/name' (lower-case letters, digits, "
            "'-' and '_')",
            field=field,
        )
    return organisation, name


def check_sha256(value: str, *, field: str) -> str:
    if not _SHA256.match(value):
        raise InvalidInput("sha256 must be 64 hexadecimal digits", field=field)
    return value.lower()


def check_content_type(value: str, *, field: str) -> str:
    if len(value) > 200 or not _CONTENT_TYPE.match(value):
        raise InvalidInput(f"{value!r} is not a media type such as text/csv", field=field)
    return value
