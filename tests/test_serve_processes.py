"""`datahamn serve --workers N` as run by users: the console script, real processes, real
sockets. Connections spread over the processes, a process that dies is replaced, a signal
stops them all, and a port in use is one clear error."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from datahamn.processes import Supervisor
from tests.support.console import SCRIPT, free_port

pytestmark = pytest.mark.slow


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAHAMN_")}
    return env | {
        "DATAHAMN_HOME": str(home),
        "DATAHAMN_LOG_LEVEL": "WARNING",
        "DATAHAMN_EMBEDDED_WORKERS": "0",
    }


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found |= {int(child) for child in children}
    return found


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on ``port`` (state 0A in /proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
            inodes.add(fields[9])
    return inodes


def _accepted(pid: int, port: int) -> int:
    """Established connections to ``port`` that the process ``pid`` holds."""
    mine = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in mine:
            count += 1
    return count


def _servers(parent: int, port: int) -> set[int]:
    """The parent's children that listen on ``port``."""
    listening = _listening_inodes(port)
    servers = set()
    for child in _children(parent):
        try:
            fds = [os.readlink(fd) for fd in Path(f"/proc/{child}/fd").iterdir()]
        except OSError:
            continue
        if any(fd.startswith("socket:[") and fd[8:-1] in listening for fd in fds):
            servers.add(child)
    return servers


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port), "--workers", "2"],
        env=_environment(tmp_path / "home"),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(lambda: len(_servers(process.pid, port)) == 2, 120, "two server processes")
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_connections_spread_over_the_processes(server: tuple[subprocess.Popen[str], int]) -> None:
    process, port = server
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(16)]
    try:
        for client in clients:  # each keeps its connection open
            assert client.get("/readyz").status_code == 200
        servers = _servers(process.pid, port)
        counts = {pid: _accepted(pid, port) for pid in servers}
        # The kernel hashes the 16 connections over two sockets: all on one has odds 2**-15.
        assert sum(counts.values()) == 16 and all(counts.values()), counts
        # The parent chose the allocators (datahamn.memory) before it spawned them.
        for pid in servers:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert b"ARROW_DEFAULT_MEMORY_POOL=jemalloc" in environ
    finally:
        for client in clients:
            client.close()


def test_a_dead_process_is_replaced_and_a_signal_stops_all(
    server: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = server
    first, second = sorted(_servers(process.pid, port))
    os.kill(first, signal.SIGKILL)
    _wait_for(lambda: len(_servers(process.pid, port) - {first}) == 2, 120, "a replacement process")
    assert second in _servers(process.pid, port)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

    children = _servers(process.pid, port)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)


def test_a_port_in_use_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(SCRIPT), "serve", "--port", str(port), "--workers", "2"],
            env=_environment(tmp_path / "home"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ), done.stderr


def _broken_app() -> object:
    raise RuntimeError("this app cannot be built")


def test_a_process_that_cannot_start_stops_the_server() -> None:
    supervisor = Supervisor(
        2, host="127.0.0.1", port=free_port(), log_level="critical", factory=_broken_app
    )
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        failed = supervisor.run()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert failed is not None and failed.endswith("before it served"), failed
    assert not any(child.process.is_alive() for child in supervisor.children)
