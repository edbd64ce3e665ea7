"""Feeding an async request body to the synchronous object store, one piece at a time.

The store's ``put`` pulls an iterable of bytes and blocks while it writes, so it runs in a
worker thread; ``ThreadBody`` is that iterable, and each ``next()`` asks the event loop for
the body's next piece (``anyio.from_thread.run``). Only the piece being handed over is in
flight: the socket is read exactly as fast as the store writes (backpressure for free), and
no queue can grow. Uvicorn itself buffers at most ~64 KiB before it stops reading.

Streaming threads come from their own limiter, so slow uploads cannot take every thread of
the default pool that the rest of the API's sync routes run on.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar
from weakref import WeakKeyDictionary

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.requests import ClientDisconnect, Request

from ingest.uploads.staging import BodyInterrupted

T = TypeVar("T")
# tus: "Both Client and Server SHOULD ... set read/write timeouts"; a client that sends
# nothing for this long is treated as gone, and what it sent is kept.
IDLE_TIMEOUT = 60.0
# Concurrent streaming requests per process; more wait (unread) until one finishes.
MAX_STREAMS = 32

_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = WeakKeyDictionary()


class ThreadBody(Iterator[bytes]):
    """A request body as a blocking iterator, for a worker thread started by anyio.

    A dropped connection or an idle timeout ends it with BodyInterrupted.
    """

    def __init__(self, request: Request, *, idle_timeout: float | None = None) -> None:
        self._stream: AsyncIterator[bytes] = request.stream()
        self._idle_timeout = IDLE_TIMEOUT if idle_timeout is None else idle_timeout
        self._done = False

    def __iter__(self) -> ThreadBody:
        return self

    def __next__(self) -> bytes:
        while not self._done:
            data = anyio.from_thread.run(self._receive)
            if data is None:
                self._done = True
            elif data:
                return data
        raise StopIteration

    async def _receive(self) -> bytes | None:
        try:
            with anyio.fail_after(self._idle_timeout):
                return await anext(self._stream)
        except StopAsyncIteration:
            return None
        except ClientDisconnect:
            self._done = True
            raise BodyInterrupted("the client disconnected") from None
        except TimeoutError:
            self._done = True
            raise BodyInterrupted(f"no bytes for {self._idle_timeout:g} s") from None


def _limiter() -> anyio.CapacityLimiter:
    # Made lazily, per event loop: a limiter belongs to the loop it was made on.
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(MAX_STREAMS)
    return limiter


async def run_streaming(func: Callable[..., T], /, *args: object, **kwargs: object) -> T:
    """Run ``func`` in a streaming worker thread (where a ThreadBody can be iterated)."""
    return await anyio.to_thread.run_sync(
        functools.partial(func, *args, **kwargs), limiter=_limiter()
    )
