"""The errors tus adds to catalog.errors; rendered in the same JSON envelope.

    DatahamnError (catalog.errors)
     ├── BadRequest             400 bad-request             a tus header is malformed
     ├── Gone                   410 gone                    the upload expired
     ├── PreconditionFailed     412 unsupported-version     Tus-Resumable is not 1.0.0
     ├── PayloadTooLarge        413 payload-too-large       more bytes than allowed
     ├── UnsupportedMediaType   415 unsupported-media-type  a PATCH body of another type
     └── ChecksumMismatch       460 checksum-mismatch       the bytes are not what was sent

``headers`` are added to the error response (tus wants ``Tus-Version`` on a 412).
"""

from __future__ import annotations

from typing import ClassVar

from catalog.errors import DatahamnError

TUS_VERSION = "1.0.0"


class BadRequest(DatahamnError):
    status_code = 400
    code = "bad-request"


class Gone(DatahamnError):
    status_code = 410
    code = "gone"


class PreconditionFailed(DatahamnError):
    status_code = 412
    code = "unsupported-version"
    headers: ClassVar[dict[str, str]] = {"Tus-Version": TUS_VERSION}


class PayloadTooLarge(DatahamnError):
    status_code = 413
    code = "payload-too-large"


class UnsupportedMediaType(DatahamnError):
    status_code = 415
    code = "unsupported-media-type"


class ChecksumMismatch(DatahamnError):
    # tus's own status code (checksum extension); the upload's offset is unchanged.
    status_code = 460
    code = "checksum-mismatch"
