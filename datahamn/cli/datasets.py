"""`datahamn datasets`: find and inspect datasets over HTTP (client commands).

Imports only typer, rich and httpx, so these work with the base install on a laptop.
"""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from datahamn.cli._errors import CliError
from datahamn.cli._http import DEFAULT_URL, ApiClient, TokenOption, UrlOption, path

app = typer.Typer(
    help="Find and inspect datasets in a datahamn catalog (over HTTP, at DATAHAMN_URL).",
    epilog="Example: datahamn datasets search temperatur --theme environment",
    no_args_is_help=True,
)


class VisibilityChoice(enum.StrEnum):
    """catalog.models.Visibility, repeated: the client has no SQLAlchemy (a test keeps them
    equal)."""

    public = "public"
    partners = "partners"
    restricted = "restricted"
    private = "private"


class SortChoice(enum.StrEnum):
    relevance = "relevance"
    title_ = "title"  # the trailing "_" keeps str.title() usable
    updated = "updated"
    created = "created"


Repeatable = "Repeat to match any of several values."
OrgOption = Annotated[
    list[str] | None,
    typer.Option(
        "--org",
        help=f"Only this organisation's datasets. {Repeatable}",
        show_default=False,
    ),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tag",
        help=f"Only datasets with this tag. {Repeatable}",
        show_default=False,
    ),
]
ThemeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--theme",
        help=f"Only datasets with this theme. {Repeatable}",
        show_default=False,
    ),
]
LicenceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--licence",
        help=f"Only datasets under this SPDX licence id. {Repeatable}",
        show_default=False,
    ),
]
FormatOption = Annotated[
    list[str] | None,
    typer.Option(
        "--format",
        help=f"Only datasets with files in this format. {Repeatable}",
        show_default=False,
    ),
]
VisibilityOption = Annotated[
    list[VisibilityChoice] | None,
    typer.Option(
        "--visibility",
        help=f"Only datasets with this visibility. {Repeatable}",
        show_default=False,
    ),
]
PersonalDataOption = Annotated[
    bool | None,
    typer.Option(
        "--personal-data/--no-personal-data",
        help="Only datasets that do (or do not) contain personal data.",
        show_default=False,
    ),
]
PageOption = Annotated[int, typer.Option(min=1, help="Page number, from 1.")]
PageSizeOption = Annotated[int, typer.Option(min=1, max=100, help="Datasets per page.")]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the API's JSON instead of a table (for scripts).",
    ),
]


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _search(
    *,
    url: str,
    token: str | None,
    q: str | None,
    org: list[str] | None,
    tag: list[str] | None,
    theme: list[str] | None,
    licence: list[str] | None,
    format_: list[str] | None,
    visibility: list[VisibilityChoice] | None,
    personal_data: bool | None,
    sort: SortChoice,
    page: int,
    page_size: int,
    as_json: bool,
    show_facets: bool,
) -> None:
    params: dict[str, Any] = {
        "q": q,
        "organisation": org or [],
        "tag": tag or [],
        "theme": theme or [],
        "licence": licence or [],
        "format": format_ or [],
        "visibility": [v.value for v in visibility or []],
        "personal_data": None if personal_data is None else str(personal_data).lower(),
        "sort": sort.value,
        "page": page,
        "page_size": page_size,
    }
    with ApiClient(url, token) as client:
        result = client.get("/datasets", params)
    if as_json:
        _print_json(result)
        return
    _render_results(result, show_facets=show_facets)


def _render_results(result: dict[str, Any], *, show_facets: bool) -> None:
    console = Console()
    datasets: list[dict[str, Any]] = result.get("data", [])
    count = int(result.get("count", 0))
    page, page_size = int(result.get("page", 1)), int(result.get("page_size", 20))
    if not datasets:
        console.print(
            f"no datasets match (of {count} on all pages)" if count else "no datasets match"
        )
        return
    # ORG/NAME is what the other commands take, so it gets the room it needs and is folded
    # whole rather than cut with an ellipsis; title and tags go under it, so the table still
    # fits an 80-column terminal.
    refs = [f"{d['organisation']['name']}/{d['name']}" for d in datasets]
    table = Table(box=box.SIMPLE_HEAD, show_lines=True, pad_edge=False, collapse_padding=True)
    table.add_column("Dataset", overflow="fold", ratio=1)
    table.add_column("Visibility")
    table.add_column("Licence", overflow="fold")
    table.add_column("Ver.")
    for ref, d in zip(refs, datasets, strict=True):
        latest = d.get("latest_version")
        licence = (d.get("licence") or {}).get("id") or (
            f"{d['agreement']}\n(agreement)" if d.get("agreement") else "-"
        )
        cell = Text.assemble((ref, "bold"), "\n", d["title"])
        if d.get("tags"):
            cell.append("\n" + ", ".join(d["tags"]), style="dim")
        table.add_row(cell, d["visibility"], licence, f"v{latest['number']}" if latest else "-")
    console.print(table)
    pages = max(1, -(-count // page_size))
    console.print(f"{count} dataset{'s' if count != 1 else ''}, page {page} of {pages}")
    if show_facets:
        for name, values in (result.get("facets") or {}).items():
            if values:
                shown = ", ".join(f"{v['value']} ({v['count']})" for v in values[:8])
                console.print(f"[bold]{name}[/bold]: {shown}", highlight=False)


@app.command(
    "list",
    epilog="Examples:\n\n    datahamn datasets list --org norrvik-vader\n\n"
    "    datahamn datasets list --tag väder --json | jq '.data[].name'",
)
def list_(
    org: OrgOption = None,
    tag: TagOption = None,
    theme: ThemeOption = None,
    licence: LicenceOption = None,
    format_: FormatOption = None,
    visibility: VisibilityOption = None,
    personal_data: PersonalDataOption = None,
    sort: Annotated[SortChoice, typer.Option(help="Order of the results.")] = SortChoice.title_,
    page: PageOption = 1,
    page_size: PageSizeOption = 20,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """List the datasets you may see (anonymous callers see public ones)."""
    _search(
        url=url,
        token=token,
        q=None,
        org=org,
        tag=tag,
        theme=theme,
        licence=licence,
        format_=format_,
        visibility=visibility,
        personal_data=personal_data,
        sort=sort,
        page=page,
        page_size=page_size,
        as_json=as_json,
        show_facets=False,
    )


@app.command(
    "search",
    epilog="Examples:\n\n    datahamn datasets search temperatur\n\n"
    "    datahamn datasets search 'skola kostnad' --theme education --licence CC-BY-4.0",
)
def search(
    query: Annotated[
        str,
        typer.Argument(
            help="Words to find in titles, descriptions, tags and organisations; the last word "
            "may be a prefix.",
            show_default=False,
        ),
    ],
    org: OrgOption = None,
    tag: TagOption = None,
    theme: ThemeOption = None,
    licence: LicenceOption = None,
    format_: FormatOption = None,
    visibility: VisibilityOption = None,
    personal_data: PersonalDataOption = None,
    sort: Annotated[SortChoice, typer.Option(help="Order of the results.")] = (
        SortChoice.relevance
    ),
    page: PageOption = 1,
    page_size: PageSizeOption = 20,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Full-text search, with filters and the counts per organisation, tag, theme, …"""
    _search(
        url=url,
        token=token,
        q=query,
        org=org,
        tag=tag,
        theme=theme,
        licence=licence,
        format_=format_,
        visibility=visibility,
        personal_data=personal_data,
        sort=sort,
        page=page,
        page_size=page_size,
        as_json=as_json,
        show_facets=True,
    )


def _split_ref(ref: str) -> tuple[str, str]:
    organisation, sep, name = ref.strip().partition("/")
    if not sep or not organisation or not name or "/" in name:
        raise CliError(f"expected ORG/NAME, e.g. norrvik-vader/nederbord-dygn; got {ref!r}")
    return organisation, name


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # unreachable; keeps mypy sure of the return


@app.command(
    "show",
    epilog="Examples:\n\n    datahamn datasets show norrvik-vader/lufttemperatur-timvarden"
    "\n\n    datahamn datasets show sjostad-statistik/skolkostnader-per-kommun --json",
)
def show(
    ref: Annotated[
        str,
        typer.Argument(
            metavar="ORG/NAME",
            help="The dataset, as organisation/name.",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Show a dataset's metadata, its versions and their files."""
    organisation, name = _split_ref(ref)
    with ApiClient(url, token) as client:
        dataset = client.get(path("datasets", organisation, name))
        versions = client.get(path("datasets", organisation, name, "versions"))
    if as_json:
        _print_json({"dataset": dataset, "versions": versions.get("data", [])})
        return
    _render_dataset(dataset, versions.get("data", []))


def _render_dataset(d: dict[str, Any], versions: list[dict[str, Any]]) -> None:
    console = Console()
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    provenance = d.get("provenance") or {}
    licence = d.get("licence")
    rows: list[tuple[str, str | None]] = [
        ("Organisation", f"{d['organisation']['title']} ({d['organisation']['name']})"),
        ("Visibility", d.get("visibility")),
        ("Licence", f"{licence['id']} – {licence['name']}" if licence else None),
        ("Agreement", d.get("agreement")),
        ("Tags", ", ".join(d.get("tags") or []) or None),
        ("Themes", ", ".join(d.get("themes") or []) or None),
        (
            "Period",
            " – ".join(str(provenance.get(k) or "…") for k in ("temporal_start", "temporal_end"))
            if provenance.get("temporal_start") or provenance.get("temporal_end")
            else None,
        ),
        ("Coverage", provenance.get("spatial_coverage")),
        ("Source", provenance.get("source")),
        ("Collection", provenance.get("collection_method")),
        (
            "Personal data",
            "yes – " + (provenance.get("personal_data_legal_basis") or "")
            if provenance.get("contains_personal_data")
            else "no",
        ),
        (
            "Contact",
            " ".join(x for x in (d.get("contact_name"), d.get("contact_email")) if x) or None,
        ),
        ("Updated", str(d.get("updated_at", ""))[:19].replace("T", " ")),
    ]
    for label, value in rows:
        if value:
            facts.add_row(label, value)
    title = f"[bold]{d['title']}[/bold]  ({d['organisation']['name']}/{d['name']})"
    console.print(
        Panel(
            Group(Markdown(d.get("description") or ""), "", facts), title=title, title_align="left"
        )
    )
    if not versions:
        console.print("no published versions yet")
        return
    table = Table("Version", "State", "Published", "Changelog", "Files")
    for v in versions:
        files = "\n".join(
            f"{f['key']}  {f['format']}, {_size(int(f['size']))}"
            + (f", {f['row_count']} rows" if f.get("row_count") is not None else "")
            for f in v.get("files", [])
        )
        published = str(v.get("published_at") or "")[:10]
        table.add_row(f"v{v['number']}", v["state"], published, v.get("changelog") or "", files)
    console.print(table)
