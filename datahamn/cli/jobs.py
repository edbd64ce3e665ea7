"""`datahamn jobs`: status, progress and log of your jobs (client commands, over HTTP)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from datahamn.cli._http import DEFAULT_URL, ApiClient, TokenOption, UrlOption, path

app = typer.Typer(
    help="Your ingestion and validation jobs: state, progress, log (over HTTP).",
    epilog="Example: datahamn jobs list && datahamn jobs show JOB_ID",
    no_args_is_help=True,
)
console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]


@app.command("list", epilog="Example:\n\n    datahamn jobs list --page 2")
def list_(
    page: Annotated[int, typer.Option(min=1)] = 1,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Your jobs, newest first."""
    with ApiClient(url, token) as client:
        result: dict[str, Any] = client.get("/jobs", {"page": page})
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    table = Table("Job", "Kind", "Dataset", "State", "Progress", "Created")
    for job in result["data"]:
        table.add_row(
            job["id"],
            job["kind"],
            job["dataset"] or "",
            job["state"],
            f"{job['progress']:.0%}",
            job["created_at"][:19].replace("T", " "),
        )
    console.print(table)
    console.print(f"{result['count']} jobs")


@app.command("show", epilog="Example:\n\n    datahamn jobs show 2b19fe679657422fb829996f5f927230")
def show(
    job_id: Annotated[str, typer.Argument(help="The job's id (from `datahamn ingest`).")],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """One job: state, progress, outcome or error, and its log."""
    with ApiClient(url, token) as client:
        job: dict[str, Any] = client.get(path("jobs", job_id))
    if as_json:
        typer.echo(json.dumps(job, ensure_ascii=False, indent=2))
        return
    console.print(
        f"[bold]{job['kind']} job {job['id']}[/bold] for {job['dataset'] or '-'}: "
        f"{job['state']} ({job['progress']:.0%}, {job['progress_message'] or '-'}), "
        f"attempts {job['attempts']}"
    )
    if job.get("error"):
        error = job["error"]
        console.print(
            f"[red]error[/red] {error.get('problem')}: {error.get('message')}"
            + (f" ({error['location']})" if error.get("location") else "")
        )
    if job.get("result"):
        console.print(f"result: {json.dumps(job['result'], ensure_ascii=False)[:2000]}")
    for line in job["log"]:
        console.print(
            f"{line['at'][:19].replace('T', ' ')} {line['level']:<7} {line['message']}",
            markup=False,
            highlight=False,
        )
