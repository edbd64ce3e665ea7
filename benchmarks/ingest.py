"""Benchmark: end-to-end ingestion of a large CSV against a raw S3 upload of the same bytes.

    python benchmarks/ingest.py [--sizes 1,4] [--workdir DIR] [--keep] [--json FILE]
        [--profile]

Run from the repository root with the project's virtualenv. Per size (GB, 10^9 bytes):

1. a CSV of mixed types (integers, decimal-point numbers, short Swedish strings, codes with
   leading zeros, ISO dates, empty cells) is generated block by block with numpy and
   Arrow's CSV writer, never held in memory whole;
2. a SeaweedFS S3 server is started (``tests/support/seaweed.py``) and the file is uploaded
   to it once with the minio SDK (``fput_object``, the same 16 MiB parts as the service's
   store): the ceiling;
3. ``datahamn serve`` (``DATAHAMN_EMBEDDED_WORKERS=0``) and one ``datahamn worker`` start as
   subprocesses on that S3 server and a SQLite database in the work directory; an
   organisation, a publisher and a token are made with the CLI;
4. ``datahamn ingest FILE --dataset bench/SIZE --license CC0-1.0`` runs as a subprocess and
   is timed from start to exit (tus upload, job, normalise, store, validate, publish).

Meanwhile a monitor polls the API for the phase the upload and the job are in (and when the
upload was complete, which happens while the job normalises it), and samples the resident
set and CPU time of the server, the worker, the CLI and SeaweedFS, and the busy time of the
whole machine's cores (``machine``: the machine may be shared, and its other users count).
Peak RSS is ``VmHWM`` from ``/proc/PID/status`` of each process (plus any children) read
just before it is stopped. ``--profile`` attaches ``py-spy record`` (if installed) to the
server and the worker and leaves collapsed stacks in the work directory.

Targets (the issue): ingest throughput at least 50 % of the raw upload's; peak RSS of the
server and of the worker at most 500 MB each, and flat from 1 GB to 4 GB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402

from tests.support.seaweed import SeaweedServer, running_seaweedfs  # noqa: E402

SCRIPT = Path(sys.executable).with_name("datahamn")
GB = 10**9
MB = 10**6
BUCKET = "datahamn"
RAW_BUCKET = "raw-ceiling"
PART_SIZE = 16 << 20  # catalog.storage.s3.DEFAULT_PART_SIZE
BLOCK_ROWS = 200_000
POLL_SECONDS = 0.5
SAMPLE_SECONDS = 0.25
RSS_TARGET_MB = 500.0
RATIO_TARGET = 0.5
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --- the CSV --------------------------------------------------------------------------------

KOMMUNER = [
    ("0180", "Stockholm"),
    ("1480", "Göteborg"),
    ("1280", "Malmö"),
    ("0380", "Uppsala"),
    ("1980", "Västerås"),
    ("1880", "Örebro"),
    ("0580", "Linköping"),
    ("1283", "Helsingborg"),
    ("0680", "Jönköping"),
    ("0581", "Norrköping"),
    ("1281", "Lund"),
    ("2480", "Umeå"),
    ("2180", "Gävle"),
    ("1490", "Borås"),
    ("0181", "Södertälje"),
    ("0484", "Eskilstuna"),
    ("1380", "Halmstad"),
    ("0780", "Växjö"),
    ("1780", "Karlstad"),
    ("2281", "Sundsvall"),
    ("2580", "Luleå"),
    ("2380", "Östersund"),
    ("2584", "Kiruna"),
    ("0980", "Gotland"),
    ("1082", "Karlshamn"),
    ("2523", "Gällivare"),
    ("1272", "Bromölla"),
    ("2260", "Ånge"),
]
KATEGORIER = [
    "kvinnor",
    "män",
    "båda könen",
    "ålder 0–17",
    "ålder 18–64",
    "ålder 65+",
    "förskola",
    "grundskola",
    "gymnasium",
    "övriga",
    "färdtjänst",
    "äldreomsorg",
    "hemtjänst",
    "Län totalt",
    "Riket",
]
KOMMENTARER = [
    "preliminär",
    "reviderad",
    "uppgift saknas",
    "sekretess",
    "nytt mätsätt från i år",
    "skattad",
    "inkl. förskoleklass",
    "exkl. övriga",
]
HEADER = "id,kommunkod,kommun,datum,antal,värde,andel,kategori,kommentar\n"
DAY0 = 14_610  # 2010-01-01 as days since the epoch


def _with_nulls(arr: pa.Array, missing: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(missing), pa.scalar(None, arr.type), arr)


def _decimal_strings(cents: np.ndarray, digits: int) -> pa.Array:
    """Fixed-point text with a decimal point (``-12.05``), from integers scaled by 10**digits."""
    scale = 10**digits
    whole = pa.array(np.abs(cents) // scale).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(np.abs(cents) % scale).cast(pa.string()), digits, "0")
    text = pc.binary_join_element_wise(whole, frac, ".")
    minus = pc.binary_join_element_wise(pa.scalar("-"), text, "")
    return pc.if_else(pa.array(cents < 0), minus, text)


def _block(rng: np.random.Generator, first_id: int, rows: int) -> pa.Table:
    codes = pa.array([c for c, _ in KOMMUNER])
    names = pa.array([n for _, n in KOMMUNER])
    which = pa.array(rng.integers(0, len(KOMMUNER), rows))
    categories = pa.array(KATEGORIER).take(pa.array(rng.integers(0, len(KATEGORIER), rows)))
    comments = pa.array(KOMMENTARER).take(pa.array(rng.integers(0, len(KOMMENTARER), rows)))
    days = pa.array((DAY0 + rng.integers(0, 6000, rows)).astype(np.int32)).cast(pa.date32())
    return pa.table(
        {
            "id": pa.array(np.arange(first_id, first_id + rows)).cast(pa.string()),
            "kommunkod": codes.take(which),
            "kommun": names.take(which),
            "datum": days.cast(pa.string()),
            "antal": _with_nulls(
                pa.array(rng.integers(0, 250_000, rows)).cast(pa.string()), rng.random(rows) < 0.05
            ),
            "värde": _with_nulls(
                _decimal_strings(rng.integers(-500_000, 5_000_000, rows), 2),
                rng.random(rows) < 0.03,
            ),
            "andel": _decimal_strings(rng.integers(0, 10_001, rows), 4),
            "kategori": categories,
            "kommentar": _with_nulls(comments, rng.random(rows) >= 0.1),  # mostly empty
        }
    )


def generate_csv(path: Path, target_bytes: int, *, seed: int = 20261129) -> tuple[int, int]:
    """Write a CSV of about ``target_bytes``, block by block; (bytes, data rows)."""
    rng = np.random.default_rng(seed)
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    rows = 0
    with pa.OSFile(str(path), "wb") as sink:
        sink.write(HEADER.encode())
        writer: pacsv.CSVWriter | None = None
        while sink.tell() < target_bytes:
            block = _block(rng, rows + 1, BLOCK_ROWS)
            if writer is None:
                writer = pacsv.CSVWriter(sink, block.schema, write_options=options)
            before = sink.tell()
            remaining = target_bytes - before
            per_row = max(1.0, _csv_size(block.slice(0, 1000), options) / 1000)
            if remaining < per_row * BLOCK_ROWS:
                block = block.slice(0, max(1, int(remaining / per_row)))
            writer.write_table(block)
            rows += block.num_rows
        if writer is not None:
            writer.close()
        size = sink.tell()
    return size, rows


def _csv_size(table: pa.Table, options: pacsv.WriteOptions) -> int:
    out = pa.BufferOutputStream()
    pacsv.write_csv(table, out, write_options=options)
    return int(out.getvalue().size)


# --- processes ------------------------------------------------------------------------------


def _proc_status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS in kB (empty once the process is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return out


def _cpu_seconds(pid: int) -> float:
    """utime + stime of the process (its threads included), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _machine_cpu_seconds() -> float:
    """CPU seconds every core of the machine spent busy (not idle or waiting on I/O) since
    boot, whoever used them: the machine is shared, so the processes measured are not all."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is inside user and nice)
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        out += children
        todo += children
    return out


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmHWM of the process, VmHWM of the process plus its children) in MB."""
    own = _proc_status(pid).get("VmHWM", 0) * 1024 / MB
    children = sum(_proc_status(c).get("VmHWM", 0) for c in _descendants(pid)) * 1024 / MB
    return own, own + children


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[Any] | None, timeout: float = 30.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@contextlib.contextmanager
def _running(
    command: list[str], env: dict[str, str], log_path: Path, cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        try:
            yield process
        finally:
            _stop(process)


def _wait_for(predicate: Any, what: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError, OSError):
            if predicate():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not ready within {timeout:.0f} s")


# --- monitoring -----------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    start: float  # seconds since the CLI started
    cpu: dict[str, float]  # CPU seconds of each process at the start


@dataclass
class Monitor:
    """Polls the API for the upload's and the job's phase; samples RSS and CPU."""

    url: str
    token: str
    pids: dict[str, int]
    t0: float = 0.0
    phases: list[Phase] = field(default_factory=list)
    rss_peak_mb: dict[str, float] = field(default_factory=dict)
    rss_timeline: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    job: dict[str, Any] | None = None
    # When the upload was complete, while the job already normalised it (seconds since the
    # CLI started): the overlapped phase's upload part.
    upload_complete_at: float | None = None
    _cpu_last: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.t0 = time.monotonic()
        self._enter("upload")
        for target in (self._poll, self._sample):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._enter("end")

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far; a process that has exited keeps its last reading. ``machine``
        is every core's busy time, the measured processes' and everybody else's."""
        for name, pid in self.pids.items():
            self._cpu_last[name] = max(self._cpu_last.get(name, 0.0), _cpu_seconds(pid))
        return {**self._cpu_last, "machine": _machine_cpu_seconds()}

    def _enter(self, name: str) -> None:
        if not self.phases or self.phases[-1].name != name:
            self.phases.append(Phase(name, time.monotonic() - self.t0, self.cpu()))

    def _poll(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Tus-Resumable": "1.0.0"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            while not self._stop.wait(POLL_SECONDS):
                with contextlib.suppress(httpx.HTTPError, KeyError, IndexError, ValueError):
                    self._observe(client)

    def _observe(self, client: httpx.Client) -> None:
        jobs = client.get("/api/v1/jobs", params={"page_size": 1}).json()["data"]
        if jobs and self.upload_complete_at is None:
            uploads = client.get("/api/v1/uploads").json()["data"]
            # Gone: removed after publishing, so complete before this poll.
            if not uploads or uploads[0]["state"] == "complete":
                self.upload_complete_at = round(time.monotonic() - self.t0, 1)
        if jobs:
            job = jobs[0]
            self.job = job
            if job["state"] in ("succeeded", "failed", "cancelled"):
                self._enter(f"job {job['state']}")
            elif job["state"] == "queued":
                self._enter("queued")
            else:
                message = job["progress_message"] or job["state"]
                self._enter(message.split(":")[0].split(" ")[0])  # "normalising: …" → normalising
            return
        uploads = client.get("/api/v1/uploads").json()["data"]
        if uploads:
            upload = uploads[0]
            if upload["state"] == "complete":
                self._enter("submit")
            elif upload.get("length") and upload.get("offset") == upload["length"]:
                self._enter("upload-finish")  # every byte in; the server re-reads for sha256

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            now: dict[str, float] = {}
            for name, pid in self.pids.items():
                rss = _proc_status(pid).get("VmRSS", 0)
                rss += sum(_proc_status(c).get("VmRSS", 0) for c in _descendants(pid))
                now[name] = rss * 1024 / MB
                self.rss_peak_mb[name] = max(self.rss_peak_mb.get(name, 0.0), now[name])
            self.rss_timeline.append((round(time.monotonic() - self.t0, 2), now))

    def phase_table(self) -> list[dict[str, Any]]:
        rows = []
        for here, after in zip(self.phases, self.phases[1:], strict=False):
            rows.append(
                {
                    "phase": here.name,
                    "seconds": round(after.start - here.start, 1),
                    "cpu_seconds": {
                        name: round(after.cpu[name] - here.cpu.get(name, 0.0), 1)
                        for name in after.cpu
                    },
                    "peak_rss_mb": {
                        name: round(
                            max(
                                (
                                    sample[name]
                                    for t, sample in self.rss_timeline
                                    if here.start <= t <= after.start and name in sample
                                ),
                                default=0.0,
                            ),
                            1,
                        )
                        for name in after.cpu
                        if name != "machine"
                    },
                }
            )
        return rows


# --- one size -------------------------------------------------------------------------------


@dataclass
class Result:
    size_gb: float
    file_bytes: int
    rows: int
    generate_seconds: float
    raw_seconds: float
    raw_cpu_seconds: dict[str, float]  # seaweedfs, client (minio), machine
    raw_mb_s: float
    ingest_seconds: float
    ingest_mb_s: float
    ratio: float
    server_peak_rss_mb: float
    worker_peak_rss_mb: float
    server_peak_rss_with_children_mb: float
    worker_peak_rss_with_children_mb: float
    cli_peak_rss_mb: float
    cli_error: str
    phases: list[dict[str, Any]]
    upload_complete_seconds: float | None  # since the CLI started
    job_log: list[dict[str, Any]]
    tables: list[dict[str, Any]]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


def _raw_upload(s3: SeaweedServer, path: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of the raw upload, and the CPU seconds it took: SeaweedFS's, this
    process's (the minio client runs here, nothing else does yet), the whole machine's."""
    client = s3.client()
    client.make_bucket(RAW_BUCKET)
    before = (_cpu_seconds(s3.pid), _own_cpu_seconds(), _machine_cpu_seconds())
    started = time.monotonic()
    client.fput_object(
        RAW_BUCKET, path.name, str(path), content_type="text/csv", part_size=PART_SIZE
    )
    seconds = time.monotonic() - started
    after = (_cpu_seconds(s3.pid), _own_cpu_seconds(), _machine_cpu_seconds())
    cpu = dict(
        zip(
            ("seaweedfs", "client", "machine"),
            (round(b - a, 1) for a, b in zip(before, after, strict=True)),
            strict=True,
        )
    )
    client.remove_object(RAW_BUCKET, path.name)  # its space is not needed any more
    return seconds, cpu


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _service_env(home: Path, s3: SeaweedServer, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAHAMN_")}
    return env | {
        "DATAHAMN_ENVIRONMENT": "development",
        "DATAHAMN_HOME": str(home),
        "DATAHAMN_DATABASE_URL": f"sqlite:///{home / 'datahamn.db'}",
        "DATAHAMN_STORAGE_URL": f"s3://{BUCKET}",
        "DATAHAMN_S3_ENDPOINT": s3.endpoint,
        "DATAHAMN_S3_ACCESS_KEY": s3.access_key,
        "DATAHAMN_S3_SECRET_KEY": s3.secret_key,
        "DATAHAMN_S3_REGION": s3.region,
        "DATAHAMN_EMBEDDED_WORKERS": "0",
        "DATAHAMN_LOG_LEVEL": "WARNING",
        "DATAHAMN_URL": url,
        "COLUMNS": "120",
    }


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [str(SCRIPT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"datahamn {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def _profiled(pids: dict[str, int], out_dir: Path, enabled: bool) -> Iterator[None]:
    """py-spy record on each pid, if asked for and installed; stopped with SIGINT."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not enabled or not Path(spy).is_file():
        if enabled:
            print("--profile: py-spy is not installed; not profiling", file=sys.stderr)
        yield
        return
    spies = [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "50",
                "--nonblocking",
                "--threads",
                "--format",
                "raw",
                "-o",
                str(out_dir / f"{name}.collapsed"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(out_dir / f"py-spy-{name}.log").open("wb"),
        )
        for name, pid in pids.items()
    ]
    try:
        yield
    finally:
        for spy_process in spies:
            with contextlib.suppress(ProcessLookupError):
                spy_process.send_signal(signal.SIGINT)
        for spy_process in spies:
            try:
                spy_process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy_process.kill()
                spy_process.wait()
        print(f"profiles: {out_dir}/*.collapsed", file=sys.stderr)


def run_size(size_gb: float, work: Path, *, profile: bool) -> Result:
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"blandat-{size_gb:g}gb.csv"
    started = time.monotonic()
    file_bytes, rows = generate_csv(csv_path, int(size_gb * GB))
    generate_seconds = time.monotonic() - started
    _say(f"{csv_path.name}: {file_bytes / MB:,.0f} MB, {rows:,} rows in {generate_seconds:.0f} s")
    load_before = os.getloadavg()
    try:
        with running_seaweedfs(work / "seaweed") as s3:
            raw_seconds, raw_cpu = _raw_upload(s3, csv_path)
            _say(f"raw fput_object: {raw_seconds:.1f} s, {file_bytes / MB / raw_seconds:.0f} MB/s")
            result = _ingest(size_gb, work, csv_path, s3, profile=profile)
    finally:
        csv_path.unlink(missing_ok=True)
    raw_mb_s = file_bytes / MB / raw_seconds
    return Result(
        size_gb=size_gb,
        file_bytes=file_bytes,
        rows=rows,
        generate_seconds=round(generate_seconds, 1),
        raw_seconds=round(raw_seconds, 1),
        raw_cpu_seconds=raw_cpu,
        raw_mb_s=round(raw_mb_s, 1),
        ingest_seconds=round(result["seconds"], 1),
        ingest_mb_s=round(file_bytes / MB / result["seconds"], 1),
        ratio=round(file_bytes / MB / result["seconds"] / raw_mb_s, 3),
        server_peak_rss_mb=round(result["server"][0], 1),
        worker_peak_rss_mb=round(result["worker"][0], 1),
        server_peak_rss_with_children_mb=round(result["server"][1], 1),
        worker_peak_rss_with_children_mb=round(result["worker"][1], 1),
        cli_peak_rss_mb=round(result["cli_rss"], 1),
        cli_error=result["cli_error"],
        phases=result["phases"],
        upload_complete_seconds=result["upload_complete_at"],
        job_log=result["job_log"],
        tables=result["tables"],
        load_before=load_before,
        load_after=os.getloadavg(),
    )


def _ingest(
    size_gb: float, work: Path, csv_path: Path, s3: SeaweedServer, *, profile: bool
) -> dict[str, Any]:
    home = work / "home"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = _service_env(home, s3, url)
    _cli(env, work, "db", "upgrade")
    _cli(env, work, "orgs", "create", "bench", "--title", "Benchmark")
    _cli(
        env,
        work,
        "users",
        "create",
        "bench",
        "--email",
        "bench@example.org",
        "--org",
        "bench",
        "--role",
        "publisher",
    )
    token = _cli(env, work, "tokens", "create", "bench", "--expires-in", "1d").strip()
    env["DATAHAMN_TOKEN"] = token
    serve = [str(SCRIPT), "serve", "--port", str(port)]
    with (
        _running(serve, env, work / "serve.log", work) as server,
        _running([str(SCRIPT), "worker"], env, work / "worker.log", work) as worker,
    ):
        _wait_for(
            lambda: httpx.get(url + "/readyz", timeout=2).status_code == 200,
            "datahamn serve",
            server,
            60,
        )
        _wait_for(
            lambda: b"draining" in (work / "worker.log").read_bytes(), "datahamn worker", worker, 60
        )
        pids = {"server": server.pid, "worker": worker.pid, "seaweedfs": s3.pid}
        dataset = f"bench/blandat-{size_gb:g}gb".replace(".", "-")
        command = [
            str(SCRIPT),
            "ingest",
            str(csv_path),
            "--dataset",
            dataset,
            "--license",
            "CC0-1.0",
        ]
        _say("$ " + " ".join(["datahamn", *command[1:]]))
        with _profiled({"server": server.pid, "worker": worker.pid}, work, profile):
            monitor = Monitor(url, token, dict(pids))
            with (work / "ingest.out").open("w") as out, (work / "ingest.err").open("w") as err:
                started = time.monotonic()
                cli = subprocess.Popen(command, env=env, cwd=work, stdout=out, stderr=err)
                monitor.pids["cli"] = cli.pid
                monitor.start()
                cli_rss = 0.0
                while cli.poll() is None:
                    cli_rss = max(cli_rss, _proc_status(cli.pid).get("VmHWM", 0) * 1024 / MB)
                    time.sleep(SAMPLE_SECONDS)
            cli_error = ""
            if cli.returncode != 0:
                cli_error = _finish_by_api(url, token, dataset, work / "ingest.err")
            seconds = time.monotonic() - started
            monitor.stop()
            server_rss = peak_rss_mb(server.pid)
            worker_rss = peak_rss_mb(worker.pid)
        output = (work / "ingest.out").read_text()
        if cli_error:
            output = f"datahamn ingest failed, finished through the API: {cli_error}"
        elif cli.returncode != 0 or "published" not in output:
            errors = (work / "ingest.err").read_text()[-3000:]
            raise RuntimeError(f"datahamn ingest failed ({cli.returncode}):\n{output}\n{errors}")
        _say(output.strip())
        job = httpx.get(
            f"{url}/api/v1/jobs",
            params={"page_size": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()["data"][0]
    return {
        "seconds": seconds,
        "cli_error": cli_error,
        "server": server_rss,
        "worker": worker_rss,
        "cli_rss": cli_rss,
        "phases": monitor.phase_table(),
        "upload_complete_at": monitor.upload_complete_at,
        "job_log": [{"at": line["at"], "message": line["message"]} for line in job["log"]]
        + [
            {"at": job["started_at"], "message": "started"},
            {"at": job["finished_at"], "message": "finished"},
        ],
        "tables": (job.get("result") or {}).get("tables", []),
    }


def _finish_by_api(url: str, token: str, dataset: str, stderr_path: Path) -> str:
    """The CLI gave up on an upload whose bytes are all in but whose completion pass (the
    server re-reads the whole upload for its sha256 within the last PATCH) outlasted the
    CLI's request timeout. Do what the CLI would have: wait for the upload to complete,
    submit the job and follow it, so the pipeline is still measured. Returns the CLI's error;
    raises for any other failure."""
    errors = stderr_path.read_text()
    match = re.search(r"upload '([0-9a-f]{32})' is receiving; finish it first", errors)
    if match is None:
        raise RuntimeError(f"datahamn ingest failed:\n{errors[-3000:]}")
    upload_id = match.group(1)
    _say(f"datahamn ingest failed ({match.group(0)}); finishing through the API")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=60) as client:
        while True:
            state = client.get(f"/uploads/{upload_id}").json()["state"]
            if state == "complete":
                break
            if state != "receiving":
                raise RuntimeError(f"upload {upload_id} is {state}")
            time.sleep(POLL_SECONDS)
        body = {"upload_ids": [upload_id], "dataset": dataset, "licence": "CC0-1.0"}
        submitted = client.post("/ingest", json=body)
        submitted.raise_for_status()
        job_id = submitted.json()["id"]
        while True:
            job = client.get(f"/jobs/{job_id}").json()
            if job["state"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(POLL_SECONDS)
    if job["state"] != "succeeded":
        raise RuntimeError(f"job {job_id} {job['state']}: {job.get('error')}")
    return match.group(0)


# --- output ---------------------------------------------------------------------------------


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(results: list[Result]) -> str:
    lines = [
        "| file | raw fput_object | ingest | ratio | server peak RSS | worker peak RSS |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.file_bytes / MB:,.0f} MB ({r.rows:,} rows) "
            f"| {r.raw_mb_s:.1f} MB/s ({r.raw_seconds:.0f} s) "
            f"| {r.ingest_mb_s:.1f} MB/s ({r.ingest_seconds:.0f} s) "
            f"| {r.ratio:.2f} | {r.server_peak_rss_mb:.0f} MB | {r.worker_peak_rss_mb:.0f} MB |"
        )
    for r in results:
        if r.cli_error:
            lines.append(
                f"{r.size_gb:g} GB: `datahamn ingest` FAILED ({r.cli_error}); the upload was"
                " completed, submitted and followed through the API, and timed the same way"
            )
    lines.append("")
    for r in results:
        raw_cpu = ", ".join(f"{k} {v}" for k, v in r.raw_cpu_seconds.items())
        lines.append(f"{r.size_gb:g} GB raw upload: {r.raw_seconds:.1f} s, cpu: {raw_cpu}")
        lines.append(
            f"{r.size_gb:g} GB phases (wall s; CPU s of each process and of the whole machine, "
            f"whoever used it, of {os.cpu_count()} s per s; peak RSS MB):"
        )
        for phase in r.phases:
            cpu = ", ".join(f"{k} {v}" for k, v in phase["cpu_seconds"].items())
            rss = ", ".join(f"{k} {v:.0f}" for k, v in phase["peak_rss_mb"].items())
            lines.append(
                f"  {phase['phase']:<16} {phase['seconds']:>7.1f} s  cpu: {cpu}  rss: {rss}"
            )
        if r.upload_complete_seconds is not None:
            lines.append(f"  (upload complete at {r.upload_complete_seconds:.1f} s)")
    lines.append("")
    ratio_ok = all(r.ratio >= RATIO_TARGET for r in results)
    rss_ok = all(max(r.server_peak_rss_mb, r.worker_peak_rss_mb) <= RSS_TARGET_MB for r in results)
    lines.append(f"throughput >= {RATIO_TARGET:.0%} of raw: {_verdict(ratio_ok)}")
    lines.append(f"peak RSS <= {RSS_TARGET_MB:.0f} MB: {_verdict(rss_ok)}")
    if len(results) > 1:
        first, last = results[0], results[-1]
        growth = max(
            last.server_peak_rss_mb / max(first.server_peak_rss_mb, 1.0),
            last.worker_peak_rss_mb / max(first.worker_peak_rss_mb, 1.0),
        )
        lines.append(
            f"peak RSS flat {first.size_gb:g} GB -> {last.size_gb:g} GB (within 20 %): "
            f"{_verdict(growth <= 1.2)} (largest growth x{growth:.2f})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1", help="comma-separated sizes in GB (10^9 bytes)")
    parser.add_argument("--workdir", type=Path, help="where files, stores and logs go")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--profile", action="store_true", help="py-spy the server and worker")
    args = parser.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    created = args.workdir is None
    workdir: Path = args.workdir or Path(tempfile.mkdtemp(prefix="datahamn-bench-ingest-"))
    workdir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(workdir).free
    if free < 6 * max(sizes) * GB:
        _say(f"warning: {free / GB:.0f} GB free in {workdir}; a run needs ~6x the file size")
    results: list[Result] = []
    try:
        for size in sizes:
            _say(f"== {size:g} GB (load average {os.getloadavg()})")
            results.append(run_size(size, workdir / f"{size:g}gb", profile=args.profile))
            if not args.keep:
                shutil.rmtree(workdir / f"{size:g}gb" / "seaweed", ignore_errors=True)
    finally:
        if args.json and results:
            args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
        if created and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep:
            _say(f"kept {workdir}")
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
