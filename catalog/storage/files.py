"""Durable file operations of the LocalStore: synced writes, kernel copies, tidy removals."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from catalog.storage.base import StoreError
from catalog.storage.streams import FileRange


def copy_range(source: BinaryIO, out: BinaryIO, size: int) -> None:
    """Append ``size`` bytes of ``source`` to the unbuffered ``out``, in the kernel where it
    can."""
    copied = 0
    try:
        while copied < size:
            done = os.copy_file_range(
                source.fileno(), out.fileno(), size - copied, offset_src=copied
            )
            if done == 0:
                break
            copied += done
    except OSError:
        pass  # copy_file_range unsupported here (old kernel, other filesystems): read below
    if copied < size:
        for chunk in FileRange(source, copied, size - 1):
            out.write(chunk)
            copied += len(chunk)
    if copied != size:
        raise StoreError(f"a source changed size while it was copied ({copied} of {size})")


def write_synced(path: Path, content: bytes) -> None:
    with open(path, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())


def fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; without it a crash could forget a completed put().
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def prune_empty_parents(directory: Path, top: Path) -> None:
    while directory != top and directory.is_relative_to(top):
        try:
            directory.rmdir()
        except OSError:
            return  # not empty (or already gone): the parents are not empty either
        directory = directory.parent
