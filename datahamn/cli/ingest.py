"""`datahamn ingest`: upload files (tus, resumable, with a progress bar), queue their
ingestion into one new version, follow the job, and print the outcome."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from datahamn.cli._errors import CliError
from datahamn.cli._http import ApiClient, TokenOption, UrlOption
from datahamn.cli._tus import tus_create, tus_send, upload_id_of

console = Console(stderr=True)
POLL_SECONDS = 0.5


def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            show_default=False,
            help="Files to ingest; together they make one new version.",
        ),
    ],
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset", "-d", help="ORG/NAME; created on the first ingest.", show_default=False
        ),
    ],
    licence: Annotated[
        str | None,
        typer.Option(
            "--license",
            "--licence",
            help="SPDX licence id (required the first time).",
            show_default=False,
        ),
    ] = None,
    agreement: Annotated[
        str | None,
        typer.Option(
            help="A data-sharing agreement of the organisation instead of a licence.",
            show_default=False,
        ),
    ] = None,
    title: Annotated[str | None, typer.Option(show_default=False)] = None,
    description: Annotated[str | None, typer.Option(help="Markdown.", show_default=False)] = None,
    visibility: Annotated[
        str | None,
        typer.Option(help="public, partners, restricted or private.", show_default=False),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Repeat for several tags.", show_default=False)
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            help="A column that identifies rows (checked unique, non-null); repeatable.",
            show_default=False,
        ),
    ] = None,
    changelog: Annotated[str, typer.Option(help="What changed in this version.")] = "",
    accept_schema_change: Annotated[
        bool, typer.Option(help="Publish even if columns were added, removed or retyped.")
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(help="Override detection: utf-8, latin-1, cp1252, …", show_default=False),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(help="Override detection: ';', ',', tab as '\\t'.", show_default=False),
    ] = None,
    skip_rows: Annotated[
        int | None,
        typer.Option(min=0, help="Preamble lines before the header.", show_default=False),
    ] = None,
    decimal: Annotated[
        str | None, typer.Option(help="Decimal separator '.' or ','.", show_default=False)
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="Excel: only this sheet.", show_default=False)
    ] = None,
    wait: Annotated[bool, typer.Option(help="Follow the job until it ends.")] = True,
    url: UrlOption = "http://127.0.0.1:8000",
    token: TokenOption = None,
) -> None:
    """Upload files and publish them as the next version of a dataset.

    The licence, metadata and format options are stored with the dataset: next month,
    `datahamn ingest new.csv --dataset ORG/NAME` repeats the same ingestion.

    Exit status: 0 published, 1 failed (the reason is printed), 3 held for review because
    personal data was found (an organisation admin accepts or rejects it).
    """
    if "/" not in dataset:
        raise CliError(f"--dataset must be ORG/NAME; got {dataset!r}")
    spec = _spec(
        licence=licence,
        agreement=agreement,
        title=title,
        description=description,
        visibility=visibility,
        tags=tag,
        changelog=changelog,
        accept_schema_change=accept_schema_change,
        options={
            "encoding": encoding,
            "skip_rows": skip_rows,
            "decimal": decimal,
            "sheet": sheet,
            "delimiter": "\t" if delimiter == "\\t" else delimiter,
        },
    )
    with ApiClient(url, token) as client:
        # Create the uploads and queue the job first, then send the bytes: the server checks
        # the submission before a byte is sent, and its worker normalises while they arrive.
        upload_urls = [tus_create(client, path, dataset=dataset) for path in paths]
        job = client.post(
            "/ingest",
            {"upload_ids": [upload_id_of(u) for u in upload_urls], "dataset": dataset, **spec},
        )
        try:
            console.print(f"queued job {job['id']}")
            for upload_url, path in zip(upload_urls, paths, strict=True):
                _send(client, upload_url, path)
        except (CliError, KeyboardInterrupt):
            # The job would wait for bytes that will not come; stop it now (best effort).
            try:
                client.post(f"/jobs/{job['id']}/cancel", {})
            except CliError:
                pass
            console.print(f"cancelled job {job['id']}: the upload did not finish")
            raise
        if not wait:
            typer.echo(job["id"])
            return
        _report(_follow(client, job["id"]))


def _spec(*, options: dict[str, Any], tags: list[str] | None, **fields: Any) -> dict[str, Any]:
    spec = {k: v for k, v in fields.items() if v not in (None, "", False)}
    if tags:
        spec["tags"] = tags
    format_options = {k: v for k, v in options.items() if v is not None}
    if format_options:
        spec["format_options"] = format_options
    return spec


def _send(client: ApiClient, upload_url: str, path: Path) -> None:
    size = path.stat().st_size
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(f"upload {path.name}", total=size)
        tus_send(
            client,
            upload_url,
            path,
            on_progress=lambda done: progress.update(task, completed=done),
        )


def _follow(client: ApiClient, job_id: str) -> dict[str, Any]:
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[message]}"),
        console=console,
    ) as progress:
        task = progress.add_task("ingest", total=1.0, message="queued")
        while True:
            job: dict[str, Any] = client.get(f"/jobs/{job_id}")
            progress.update(
                task, completed=job["progress"], message=job["progress_message"] or job["state"]
            )
            if job["state"] in {"succeeded", "failed", "cancelled"}:
                return job
            time.sleep(POLL_SECONDS)


def _report(job: dict[str, Any]) -> None:
    if job["state"] != "succeeded":
        error = job.get("error") or {}
        where = f" ({error['location']})" if error.get("location") else ""
        raise CliError(
            f"ingestion {job['state']}: {error.get('message', 'no reason given')}"
            f"{where} [{error.get('problem', job['state'])}]"
        )
    result = job["result"]
    held = result["state"] == "needs-review"
    verb = "held for review" if held else "published"
    typer.echo(f"{verb}: {result['dataset']} version {result['version']}")
    for table in result["tables"]:
        typer.echo(f"  table {table['name']}: {table['rows']:,} rows, {table['columns']} columns")
    change = result.get("schema_change")
    if change and any(change.values()):
        typer.echo(f"  schema change: {change}")
    for warning in result.get("warnings", []):
        typer.echo(f"  warning: {warning}")
    for key, table in (result.get("validation") or {}).get("tables", {}).items():
        typer.echo(
            f"  validation {key}: {table['passed']}/{table['total']} expectations "
            f"passed, {table['warnings']} warnings, {table['failed']} failed "
            f"(score {table['score']})"
        )
        for finding in table.get("personal_data", []):
            typer.echo(
                f"  personal data {key}: {finding['type']} in column "
                f"{finding['column']!r} ({finding['count']} values, "
                f"{finding['confidence']} confidence)"
            )
    if held:
        typer.echo(
            "  an organisation admin must accept or reject it: POST "
            f"/api/v1/datasets/{result['dataset']}/versions/{result['version']}/review"
        )
        raise typer.Exit(3)


INGEST_EPILOG = (
    "Example:\n\n    datahamn ingest temperatur.csv --dataset smhi/lufttemperatur "
    "--license CC-BY-4.0 --title 'Lufttemperatur' --visibility public"
)
