"""`datahamn ingest` as a user runs it: the console script against `datahamn serve` (with its
embedded worker), a real-world file, a re-run with the stored spec, and a bad file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.console import SCRIPT, free_port, wait_ready

REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "realworld"


@pytest.mark.slow
def test_ingest_command_end_to_end(tmp_path: Path) -> None:
    assert REALWORLD.is_dir(), f"the real-world files are missing: {REALWORLD}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAHAMN_")}
    env |= {
        "DATAHAMN_HOME": str(tmp_path / "home"),
        "DATAHAMN_URL": url,
        "DATAHAMN_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }

    def datahamn(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert datahamn("db", "upgrade").returncode == 0
    assert datahamn("orgs", "create", "skolverket", "--title", "Skolverket").returncode == 0
    assert (
        datahamn(
            "users",
            "create",
            "anna",
            "--email",
            "anna@example.org",
            "--org",
            "skolverket",
            "--role",
            "publisher",
        ).returncode
        == 0
    )
    env["DATAHAMN_TOKEN"] = datahamn("tokens", "create", "anna").stdout.strip()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_ready(url, server)
        source = REALWORLD / "skolverket_kostnader_grundskola_2024_kommun.csv"
        first = datahamn(
            "ingest",
            str(source),
            "--dataset",
            "skolverket/kostnader",
            "--license",
            "CC0-1.0",
            "--title",
            "Kostnader grundskola",
            "--visibility",
            "public",
        )
        assert first.returncode == 0, first.stderr
        assert "published: skolverket/kostnader version 1" in first.stdout
        assert "290 rows" in first.stdout
        assert "expectations passed, 0 warnings, 0 failed" in first.stdout
        assert "upload skolverket_kostnader" in first.stderr  # the progress bar

        again = datahamn("ingest", str(source), "--dataset", "skolverket/kostnader")
        assert again.returncode == 0, again.stderr
        assert "version 2" in again.stdout

        empty = tmp_path / "tom.csv"
        empty.write_bytes(b"")
        failed = datahamn("ingest", str(empty), "--dataset", "skolverket/kostnader")
        assert failed.returncode == 1
        assert "empty-file" in failed.stderr and "Traceback" not in failed.stderr

        shown = datahamn("datasets", "show", "skolverket/kostnader")
        assert "Kostnader grundskola" in shown.stdout

        queued = datahamn("ingest", str(source), "--dataset", "skolverket/kostnader", "--no-wait")
        job_id = queued.stdout.strip()
        assert queued.returncode == 0 and len(job_id) == 32, queued.stderr
        for _ in range(120):
            state = json.loads(datahamn("jobs", "show", job_id, "--json").stdout)["state"]
            if state not in {"queued", "running"}:
                break
            time.sleep(0.5)
        assert state == "succeeded"
        shown_job = datahamn("jobs", "show", job_id)
        assert "version 4: published" in shown_job.stdout, shown_job.stdout
        listed = datahamn("jobs", "list")
        assert job_id in listed.stdout and "4 jobs" in listed.stdout

        # Ctrl-C during the upload: the job queued before the bytes is cancelled, not left
        # waiting for them.
        big = tmp_path / "stor.csv"
        with big.open("wb") as handle:
            handle.write(b"kommun;belopp\n" + b"Stockholm;12345\n" * (8 << 20))
        interrupted = subprocess.Popen(
            [
                str(SCRIPT),
                "ingest",
                str(big),
                "--dataset",
                "skolverket/stor",
                "--license",
                "CC0-1.0",
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert interrupted.stderr is not None
        queued_line = interrupted.stderr.readline()  # printed before the first byte is sent
        assert queued_line.startswith("queued job "), queued_line
        interrupted.send_signal(signal.SIGINT)
        code = interrupted.wait(timeout=60)
        assert code != 0
        # Read through the same buffered file as readline() (communicate() would skip what
        # that buffer already holds).
        err = interrupted.stderr.read()
        assert "cancelled job" in err, (code, err)
        cancelled_id = queued_line.split()[2]
        state = json.loads(datahamn("jobs", "show", cancelled_id, "--json").stdout)["state"]
        assert state == "cancelled"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
