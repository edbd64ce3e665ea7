"""Planning a multipart copy (S3 UploadPartCopy) that joins objects into one.

S3 copies a part inside the server, but every part except the last must be at least 5 MiB
and an object has at most 10,000 parts; short sources (an interrupted PATCH of a resumed
upload) therefore have to be joined with their neighbours into parts that are uploaded.
"""

from __future__ import annotations

from collections.abc import Sequence

from minio.helpers import MAX_MULTIPART_COUNT, MAX_PART_SIZE, MIN_PART_SIZE

Ranges = list[tuple[int, int, int]]  # (source index, start, end exclusive)


def plan_parts(sizes: Sequence[int]) -> list[Ranges] | None:
    """The parts of one multipart copy of sources of these sizes, or None if S3 cannot make
    the object that way (more than 10,000 parts).

    Every part but the last must be at least 5 MiB. A source that big is one part, copied
    inside the server. Shorter sources are joined, with the head of the next source if
    needed, into a part of their own: at most about 10 MiB that must be uploaded.
    """
    last = len(sizes) - 1
    parts: list[Ranges] = []
    pending: Ranges = []
    pending_size = 0
    for index, size in enumerate(sizes):
        if size == 0 and index != last:
            continue  # adds nothing, and would only start a run of short sources
        start = 0
        if pending:
            need = MIN_PART_SIZE - pending_size
            # Take only the head the run needs if the rest can still be a part of its own.
            take = need if size - need >= MIN_PART_SIZE or (index == last and size > need) else size
            pending.append((index, 0, take))
            pending_size += take
            start = take
            if pending_size >= MIN_PART_SIZE:
                parts.append(pending)
                pending, pending_size = [], 0
            if start == size:
                continue
        if size - start >= MIN_PART_SIZE or index == last:
            parts.append([(index, start, size)])
        else:
            pending, pending_size = [(index, start, size)], size - start
    if pending:
        parts.append(pending)
    count = 0
    for number, ranges in enumerate(parts):
        length = sum(end - start for _, start, end in ranges)
        # minio splits a part over 5 GiB into 5 GiB ranges; its last range counts as a part.
        tail = length % MAX_PART_SIZE or min(length, MAX_PART_SIZE)
        if number < len(parts) - 1 and tail < MIN_PART_SIZE:
            return None
        count += max(1, -(-length // MAX_PART_SIZE))
    return parts if count <= MAX_MULTIPART_COUNT else None
