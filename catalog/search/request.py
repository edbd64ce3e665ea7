"""What a search asks for and what it returns: sort orders, filters, facets, results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from catalog.errors import InvalidInput
from catalog.models import Dataset, Visibility
from catalog.principal import Principal
from catalog.search.card_cache import CardCache

SortOrder = Literal["relevance", "title", "updated", "created"]
SORT_ORDERS: tuple[str, ...] = get_args(SortOrder)
FACET_NAMES = (
    "organisation", "tag", "theme", "licence", "format", "visibility", "personal_data", "quality",
)  # fmt: skip
FACET_SIZE = 20
MAX_LIMIT = 1000
# Drill-down facets: each facet ignores its own filter (one extra candidate set per active
# filter). False counts every facet under all active filters: less useful in a UI.
DRILL_DOWN = True

# A filter's values: sorted, distinct, normalised (see normalise_filters).
FilterValues = tuple[str, ...]


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    datasets: list[Dataset]  # may be empty when the search was asked for ids only
    count: int
    facets: dict[str, list[FacetCount]]
    ids: list[int]  # the page's dataset ids, in order
    # Where the page's bodies may be kept: the searched snapshot's (None: searched in SQL).
    cards: CardCache | None = None


def check_paging(*, sort: str, offset: int, limit: int) -> None:
    if sort not in SORT_ORDERS:
        raise InvalidInput(f"sort must be one of {', '.join(SORT_ORDERS)}", field="sort")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    if not 0 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 0 and {MAX_LIMIT}", field="limit")


def normalise_filters(**given: Any) -> dict[str, FilterValues]:
    """The active filters: facet name -> sorted distinct values.

    A value with NUL cannot be stored (PostgreSQL refuses it even as a parameter), so it
    matches nothing; a filter whose every value is unusable is kept with no values and
    matches nothing. Licences and formats are lower-cased (SPDX ids are case-insensitive,
    formats are stored lower-case).
    """
    filters: dict[str, FilterValues] = {}
    for name, values in given.items():
        if name == "personal_data":
            if values is not None:
                filters[name] = ("true" if values else "false",)
            continue
        if not values:
            continue
        cleaned = {str(v) for v in values if "\x00" not in str(v)}
        if name in ("licence", "format"):
            cleaned = {v.lower() for v in cleaned}
        elif name == "visibility":
            cleaned &= set(Visibility._value2member_map_)
        filters[name] = tuple(sorted(cleaned))
    return filters


def scope_of(principal: Principal) -> tuple[Any, ...]:
    """What decides the caller's view (see visible_datasets): part of every cache key."""
    if principal.is_sysadmin:
        return ("all",)
    if not principal.is_partner:
        return ("public",)
    return ("partner", *sorted(principal.roles))
