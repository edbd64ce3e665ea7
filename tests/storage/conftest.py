"""Fixtures for the object store tests.

``store`` runs a test on each implementation: a LocalStore whose signed URLs are served by a
real uvicorn server, and an S3Store on a fresh bucket of a real SeaweedFS server. Both servers
start once per session, and only if a selected test needs them (``-m "not s3"`` never starts
SeaweedFS).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from catalog.storage import LocalStore, ObjectStore, S3Store
from catalog.storage.routes import router
from tests.support.seaweed import SeaweedServer, running_seaweedfs

SECRET_KEY = "test-secret-key"


@dataclass(frozen=True)
class ObjectServer:
    """A real HTTP server running an app with the objects router; tests set ``app.state.store``."""

    app: FastAPI
    base_url: str


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(scope="session")
def object_server() -> Iterator[ObjectServer]:
    app = FastAPI()
    app.include_router(router)
    # Bound here and handed to uvicorn, so the port is known before it starts and no other
    # process can take it in between.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the uvicorn test server did not start")
        time.sleep(0.01)
    yield ObjectServer(app, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """An empty store of each kind."""
    if request.param == "local":
        server: ObjectServer = request.getfixturevalue("object_server")
        local = LocalStore(tmp_path / "store", base_url=server.base_url, secret_key=SECRET_KEY)
        server.app.state.store = local
        yield local
        server.app.state.store = None
    else:
        seaweed: SeaweedServer = request.getfixturevalue("seaweedfs")
        client = seaweed.client()
        bucket = f"test-{uuid.uuid4().hex[:20]}"
        client.make_bucket(bucket)
        # The bucket is left behind: the whole server goes away with the session.
        yield S3Store(client, bucket)
