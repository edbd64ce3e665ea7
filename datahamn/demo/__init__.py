"""The demo catalog: fictional partners, their admins and six datasets with real Parquet files.

Every value is synthetic and generated here, deterministically (seeded per dataset), so the
demo ships under the project's own licence and needs no download. ``load_demo`` is
idempotent: what already exists is reported and left alone, and each dataset is created with
all its versions in one transaction, so an interrupted run leaves no half-made dataset.

``tables`` generates the data, ``content`` describes the catalog and ``loader`` writes it to
the database and object store (and ``reset_demo`` removes it again).
"""

from datahamn.demo.content import (
    AGREEMENT_NAME,
    AGREEMENT_ORG,
    AGREEMENT_TEXT,
    AGREEMENT_TITLE,
    DATASETS,
    ORGANISATIONS,
    PROJECT_LICENCE,
    SYNTHETIC_NOTE,
    DemoDataset,
    DemoOrganisation,
    DemoVersion,
)
from datahamn.demo.loader import (
    DATA_KEY,
    PARQUET_MEDIA_TYPE,
    DemoSummary,
    column_stats,
    load_demo,
    parquet_bytes,
    reset_demo,
    schema_json,
)
from datahamn.demo.tables import (
    COUNTERS,
    KOMMUNER,
    LABELS,
    PRODUCTION_TYPES,
    STATIONS,
    air_temperature,
    annotation_labels,
    bicycle_counts,
    daily_precipitation,
    electricity_production,
    school_costs,
)

__all__ = [
    "AGREEMENT_NAME",
    "AGREEMENT_ORG",
    "AGREEMENT_TEXT",
    "AGREEMENT_TITLE",
    "COUNTERS",
    "DATASETS",
    "DATA_KEY",
    "KOMMUNER",
    "LABELS",
    "ORGANISATIONS",
    "PARQUET_MEDIA_TYPE",
    "PRODUCTION_TYPES",
    "PROJECT_LICENCE",
    "STATIONS",
    "SYNTHETIC_NOTE",
    "DemoDataset",
    "DemoOrganisation",
    "DemoSummary",
    "DemoVersion",
    "air_temperature",
    "annotation_labels",
    "bicycle_counts",
    "column_stats",
    "daily_precipitation",
    "electricity_production",
    "load_demo",
    "parquet_bytes",
    "reset_demo",
    "schema_json",
    "school_costs",
]
