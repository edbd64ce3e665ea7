"""Object storage: one contract (``base.ObjectStore``), a directory-backed and an S3 store.

``open_store(settings)`` picks one from ``DATAHAMN_STORAGE_URL``.
"""

from catalog.storage.base import (
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StoreError,
    StoreUnavailable,
)
from catalog.storage.factory import open_store
from catalog.storage.local import LocalStore
from catalog.storage.s3 import S3Store

__all__ = [
    "InvalidKey",
    "LocalStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "S3Store",
    "StoreError",
    "StoreUnavailable",
    "open_store",
]
