"""``datahamn serve --workers N``: N server processes sharing one port through SO_REUSEPORT.

Why not ``uvicorn --workers``: its processes share one listening socket, and whichever is
awake first accepts every waiting connection (asyncio accepts up to the backlog per
wake-up). Clients that keep their connections open (browsers, notebooks, load balancers,
the search benchmark's 16 clients) then all stay on one process while the others idle:
measured, one process served every search and the other none. With a socket per process
bound with ``SO_REUSEPORT``, the kernel spreads new connections over the processes by a
hash of their addresses.

Each process runs the whole app from the same ``DATAHAMN_*`` environment: its own database
pool, search snapshot and, when ``DATAHAMN_EMBEDDED_WORKERS`` > 0, its own job workers (the
queue is made for several). Everything shared lives in the database and the object store
(uploads in progress included, see ``ingest.uploads.running``), so a request may go to any
process. The parent upgrades the database once before it starts them, so they do not race
on migrations, then supervises: a process that dies after it started serving is replaced;
one that dies before stops the server with an error (it would fail the same way again).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

# What a server process serves: a callable that builds the ASGI app (module-level, so that
# a spawned process can import it by name).
AppFactory = Callable[[], Any]
# Seconds a stopping process gets to finish its requests before it is killed.
STOP_TIMEOUT = 30.0
BACKLOG = 2048


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv4 or IPv6, as ``host`` resolves), not yet
    listening (uvicorn calls ``listen`` with its backlog)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def check_port_free(host: str, port: int) -> None:
    """OSError when something already listens on ``host:port``.

    The probe binds without ``SO_REUSEPORT``, so it also fails against another datahamn
    server: the processes' sockets would otherwise join that server's group and share its
    connections.
    """
    listening_socket(host, port, reuse_port=False).close()


def app_from_environment() -> Any:
    """The service as ``datahamn serve`` runs it, from the ``DATAHAMN_*`` environment."""
    from catalog.settings import Settings
    from datahamn.app import create_app

    return create_app(Settings(), upgrade_on_start=False)  # the parent upgraded


@dataclass(frozen=True)
class ProcessOptions:
    factory: AppFactory
    host: str
    port: int
    log_level: str
    access_log: bool


def serve_process(options: ProcessOptions, ready: Event) -> None:
    """One server process (the target of each child): ``options.factory()``'s app on its own
    ``SO_REUSEPORT`` socket; sets ``ready`` once it serves."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                ready.set()

    app = options.factory()
    sock = listening_socket(options.host, options.port, reuse_port=True)
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level=options.log_level,
        access_log=options.access_log,
        backlog=BACKLOG,
    )
    Server(config).run(sockets=[sock])


@dataclass
class _Child:
    process: BaseProcess
    ready: Event


class Supervisor:
    """Starts ``count`` server processes, replaces those that die, stops them all on SIGINT
    or SIGTERM (each gets :data:`STOP_TIMEOUT` seconds to finish, then SIGKILL)."""

    def __init__(
        self,
        count: int,
        *,
        host: str,
        port: int,
        log_level: str,
        access_log: bool = True,
        factory: AppFactory = app_from_environment,
    ) -> None:
        self.count = count
        self.options = ProcessOptions(factory, host, port, log_level, access_log)
        self.stop = threading.Event()
        # spawn, not fork: each process imports and builds its app from scratch, with no
        # copy of the parent's database connections or threads.
        self.context = multiprocessing.get_context("spawn")
        self.children: list[_Child] = []

    def run(self) -> str | None:
        """Serve until stopped by a signal (None) or until a process dies before it served
        (what failed; the others are stopped too)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        self.children = [self._start() for _ in range(self.count)]
        failed = None
        while failed is None and not self.stop.wait(0.5):
            failed = self._replace_dead()
        self._stop_all()
        return failed

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()

    def _start(self) -> _Child:
        ready = self.context.Event()
        process = self.context.Process(target=serve_process, args=(self.options, ready))
        process.start()
        return _Child(process, ready)

    def _replace_dead(self) -> str | None:
        """Restart the processes that died serving; what failed when one died starting."""
        for index, child in enumerate(self.children):
            if child.process.is_alive() or self.stop.is_set():
                continue
            child.process.join()
            if not child.ready.is_set():
                return (
                    f"server process {child.process.pid} exited with "
                    f"{child.process.exitcode} before it served"
                )
            log.warning(
                "server process %s exited with %s; starting another",
                child.process.pid,
                child.process.exitcode,
            )
            self.children[index] = self._start()
        return None

    def _stop_all(self) -> None:
        for child in self.children:
            if child.process.is_alive():
                child.process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in self.children:
            child.process.join(max(0.0, deadline - time.monotonic()))
            if child.process.is_alive():
                log.warning("server process %s did not stop in time; killing it", child.process.pid)
                child.process.kill()
                child.process.join()
