"""Request and response bodies of the catalog API (the Create/Update/Public families).

Inputs forbid unknown fields so a typo is a 422 naming the field, not a silent no-op.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from catalog.models import NAME_MAX, TITLE_MAX, Role, VersionState, Visibility

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*[a-z0-9]$"
Slug = Annotated[
    str,
    StringConstraints(min_length=2, max_length=NAME_MAX, pattern=SLUG_PATTERN),
    Field(description="lower-case letters, digits, '-' and '_'; 2-100 characters"),
]
Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX, strip_whitespace=True)]
Description = Annotated[str, StringConstraints(max_length=100_000)]
Tag = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=50, strip_whitespace=True, pattern=r"^[^\x00-\x1f,]+$"
    ),
]
Url = Annotated[str, StringConstraints(max_length=500, pattern=r"^https?://[^\s]+$")]
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
ShortText = Annotated[str, StringConstraints(max_length=10_000)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100_000)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Organisations ----------------------------------------------------------------------------


class OrganisationCreate(Input):
    name: Slug
    title: Title
    description: Description = ""
    homepage: Url | None = None


class OrganisationUpdate(Input):
    title: Title | None = None
    description: Description | None = None
    homepage: Url | None = None


class OrganisationPublic(Output):
    name: str
    title: str
    description: str
    homepage: str | None
    created_at: datetime


class OrganisationsPublic(BaseModel):
    data: list[OrganisationPublic]
    count: int


class MemberSet(Input):
    role: Role


class MemberPublic(BaseModel):
    username: str
    role: Role


class MembersPublic(BaseModel):
    data: list[MemberPublic]
    count: int


class UserPublic(BaseModel):
    username: str
    email: str
    full_name: str
    is_sysadmin: bool
    memberships: list[dict[str, str]]


# Licences and agreements ------------------------------------------------------------------


class LicencePublic(Output):
    id: str
    name: str
    url: str
    osi_approved: bool
    fsf_libre: bool
    open_data: bool
    deprecated: bool


class LicencesPublic(BaseModel):
    data: list[LicencePublic]
    count: int


class AgreementCreate(Input):
    name: Slug
    title: Title
    text: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


class AgreementPublic(BaseModel):
    organisation: str
    name: str
    version: int
    title: str
    text: str
    created_at: datetime


class AgreementsPublic(BaseModel):
    data: list[AgreementPublic]
    count: int


# Datasets ---------------------------------------------------------------------------------


class _DatasetFields(Input):
    description: Description = ""
    visibility: Visibility = Visibility.private
    tags: Annotated[list[Tag], Field(max_length=50)] = []
    themes: Annotated[list[str], Field(max_length=13)] = []
    contact_name: Title | None = None
    contact_email: Email | None = None
    homepage: Url | None = None
    licence: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="an SPDX licence id from /api/v1/licences"
    )
    agreement: Slug | None = Field(
        default=None, description="name of a data-sharing agreement of the organisation"
    )
    source: ShortText | None = None
    collection_method: ShortText | None = None
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial_coverage: Annotated[str, StringConstraints(max_length=500)] | None = None
    contains_personal_data: bool = False
    personal_data_legal_basis: ShortText | None = None


class DatasetCreate(_DatasetFields):
    organisation: Slug
    name: Slug
    title: Title


class DatasetUpdate(Input):
    title: Title | None = None
    description: Description | None = None
    visibility: Visibility | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] | None = None
    themes: Annotated[list[str], Field(max_length=13)] | None = None
    contact_name: Title | None = None
    contact_email: Email | None = None
    homepage: Url | None = None
    licence: Annotated[str, StringConstraints(max_length=100)] | None = None
    agreement: Slug | None = None
    source: ShortText | None = None
    collection_method: ShortText | None = None
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial_coverage: Annotated[str, StringConstraints(max_length=500)] | None = None
    contains_personal_data: bool | None = None
    personal_data_legal_basis: ShortText | None = None


class OrganisationRef(BaseModel):
    name: str
    title: str


class LicenceRef(BaseModel):
    id: str
    name: str
    url: str


class Provenance(BaseModel):
    source: str | None
    collection_method: str | None
    temporal_start: date | None
    temporal_end: date | None
    spatial_coverage: str | None
    contains_personal_data: bool
    personal_data_legal_basis: str | None


class VersionRef(BaseModel):
    number: int
    state: VersionState
    published_at: datetime | None


class QualitySummary(BaseModel):
    status: str = Field(
        description="passed, warnings or failed: the worst of the latest "
        "published version's quality reports"
    )
    score: float | None = Field(description="percentage of expectations passed, 0-100")


class DatasetPublic(BaseModel):
    organisation: OrganisationRef
    name: str
    title: str
    description: str
    tags: list[str]
    themes: list[str]
    visibility: Visibility
    contact_name: str | None
    contact_email: str | None
    homepage: str | None
    licence: LicenceRef | None
    agreement: str | None
    provenance: Provenance
    latest_version: VersionRef | None
    quality: QualitySummary | None
    created_at: datetime
    updated_at: datetime


class FacetValue(BaseModel):
    value: str
    count: int


class DatasetsPublic(BaseModel):
    data: list[DatasetPublic]
    count: int
    page: int
    page_size: int
    facets: dict[str, list[FacetValue]]


# Versions and files -----------------------------------------------------------------------


class VersionCreate(Input):
    changelog: Description = ""
    licence: Annotated[str, StringConstraints(max_length=100)] | None = None
    attribution: ShortText | None = None


class VersionUpdate(Input):
    changelog: Description | None = None
    licence: Annotated[str, StringConstraints(max_length=100)] | None = None
    attribution: ShortText | None = None


class VersionWithdraw(Input):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


FileKey = Annotated[
    str, StringConstraints(min_length=1, max_length=900, pattern=r"^[^/\x00\\][^\x00\\]*$")
]


class UploadUrlCreate(Input):
    key: FileKey
    expires_in: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] = 3600


class UploadUrlPublic(BaseModel):
    key: str
    url: str
    method: str
    expires_in: int


class FileCreate(Input):
    key: FileKey = Field(description="path below the version's prefix, e.g. data/part-0.parquet")
    format: Annotated[
        str, StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z0-9.+-]+$")
    ]
    media_type: Annotated[
        str, StringConstraints(min_length=3, max_length=200, pattern=r"^[\w.+-]+/[\w.+-]+$")
    ]
    role: Annotated[str, StringConstraints(pattern=r"^(data|original|report|other)$")] = "data"
    row_count: Annotated[int, Field(ge=0)] | None = None
    arrow_schema: dict[str, Any] | list[Any] | None = None
    column_stats: dict[str, Any] | list[Any] | None = None


class FilePublic(Output):
    id: int
    key: str
    role: str
    format: str
    media_type: str
    size: int
    sha256: str
    row_count: int | None
    arrow_schema: Any
    column_stats: Any
    created_at: datetime


class VersionPublic(BaseModel):
    dataset: str
    number: int
    state: VersionState
    state_reason: str | None
    changelog: str
    licence: str | None
    attribution: str | None
    created_by: str | None
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    files: list[FilePublic]


class VersionsPublic(BaseModel):
    data: list[VersionPublic]
    count: int
