"""ORM rows -> API bodies. Kept apart from routes so the CKAN and DCAT views can reuse them."""

from __future__ import annotations

from catalog.models import Agreement, Dataset, DatasetVersion, Organisation
from catalog.schemas import (
    AgreementPublic,
    DatasetPublic,
    FilePublic,
    LicenceRef,
    OrganisationRef,
    Provenance,
    QualitySummary,
    VersionPublic,
    VersionRef,
)


def dataset_public(dataset: Dataset, latest: DatasetVersion | None) -> DatasetPublic:
    licence = dataset.licence
    return DatasetPublic(
        organisation=OrganisationRef(
            name=dataset.organisation.name, title=dataset.organisation.title
        ),
        name=dataset.name,
        title=dataset.title,
        description=dataset.description,
        tags=dataset.tags,
        themes=dataset.themes,
        visibility=dataset.visibility,
        contact_name=dataset.contact_name,
        contact_email=dataset.contact_email,
        homepage=dataset.homepage,
        licence=LicenceRef(id=licence.id, name=licence.name, url=licence.url) if licence else None,
        agreement=dataset.agreement.name if dataset.agreement else None,
        provenance=Provenance(
            source=dataset.source,
            collection_method=dataset.collection_method,
            temporal_start=dataset.temporal_start,
            temporal_end=dataset.temporal_end,
            spatial_coverage=dataset.spatial_coverage,
            contains_personal_data=dataset.contains_personal_data,
            personal_data_legal_basis=dataset.personal_data_legal_basis,
        ),
        quality=QualitySummary(status=dataset.quality_status, score=dataset.quality_score)
        if dataset.quality_status
        else None,
        latest_version=VersionRef(
            number=latest.number, state=latest.state, published_at=latest.published_at
        )
        if latest
        else None,
        created_at=dataset.created_at,
        updated_at=dataset.updated_at,
    )


def version_public(version: DatasetVersion) -> VersionPublic:
    dataset = version.dataset
    return VersionPublic(
        dataset=f"{dataset.organisation.name}/{dataset.name}",
        number=version.number,
        state=version.state,
        state_reason=version.state_reason,
        changelog=version.changelog,
        licence=version.licence_id,
        attribution=version.attribution,
        created_by=version.created_by.username if version.created_by else None,
        created_at=version.created_at,
        published_by=version.published_by.username if version.published_by else None,
        published_at=version.published_at,
        files=[FilePublic.model_validate(f) for f in version.files],
    )


def agreement_public(agreement: Agreement, organisation: Organisation) -> AgreementPublic:
    return AgreementPublic(
        organisation=organisation.name,
        name=agreement.name,
        version=agreement.version,
        title=agreement.title,
        text=agreement.text,
        created_at=agreement.created_at,
    )
