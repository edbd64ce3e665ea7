"""The demo catalog: fictional partners, their admins and six datasets with real Parquet files.

Every value is synthetic and generated here, deterministically (seeded per dataset), so the
demo ships under the project's own licence and needs no download. ``load_demo`` is
idempotent: what already exists is reported and left alone, and each dataset is created with
all its versions in one transaction, so an interrupted run leaves no half-made dataset.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from catalog.datasets import create_dataset
from catalog.db import session_scope
from catalog.licences import register_agreement
from catalog.models import Agreement, Dataset, Organisation, Role, User, Visibility
from catalog.organisations import insert_organisation
from catalog.storage.base import ObjectStore
from catalog.users import create_user, principal_for_user, set_membership
from catalog.versions import add_file, create_version, publish_version, version_prefix

DATA_KEY = "data/part-0.parquet"
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
PROJECT_LICENCE = "Apache-2.0"

SYNTHETIC_NOTE = (
    "\n\n---\n\n*Demo data.* The organisation, places and every value here are fictional: "
    "they are generated deterministically by `datahamn demo` (`datahamn/demo.py`) and ship "
    f"with datahamn under the project's licence ({PROJECT_LICENCE}). The dataset licence "
    "shown in the catalog is set to demonstrate licence handling."
)


# The partners, their admins and the agreement -------------------------------------------


@dataclass(frozen=True)
class DemoOrganisation:
    name: str
    title: str
    description: str
    homepage: str
    admin: str  # username of the organisation's demo admin
    admin_name: str


ORGANISATIONS = (
    DemoOrganisation(
        name="norrvik-vader",
        title="Norrviks regionala väderkontor",
        description="A fictional regional weather office in northern Sweden that runs "
        "four automatic weather stations. Demo organisation.",
        homepage="https://norrvik-vader.example.org",
        admin="demo-astrid",
        admin_name="Astrid Ödman (demo)",
    ),
    DemoOrganisation(
        name="sjostad-statistik",
        title="Sjöstads kommun – statistikenheten",
        description="The statistics office of the fictional municipality of Sjöstad, "
        "which publishes figures for its region. Demo organisation.",
        homepage="https://statistik.sjostad.example.org",
        admin="demo-bertil",
        admin_name="Bertil Åkesson (demo)",
    ),
    DemoOrganisation(
        name="fjallby-ai-lab",
        title="Fjällby universitet – AI-labbet",
        description="A fictional university lab that collects sensor data and "
        "annotations for machine-learning research. Demo organisation.",
        homepage="https://ai.fjallby-universitet.example.org",
        admin="demo-cecilia",
        admin_name="Cecilia Lövgren (demo)",
    ),
)

AGREEMENT_ORG = "fjallby-ai-lab"
AGREEMENT_NAME = "forskningsavtal"
AGREEMENT_TITLE = "Fjällby research data agreement (demo)"
AGREEMENT_TEXT = (
    "# Fjällby research data agreement (demo)\n\n"
    "A fictional agreement for the datahamn demo. The recipient uses the data for research "
    "within the partner network only, does not try to identify individuals, does not pass "
    "the data on, and deletes it when the project ends."
)


def _email(org: DemoOrganisation) -> str:
    return f"{org.admin.removeprefix('demo-')}@{org.name}.example.org"


# Data generators: each returns an Arrow table, the same one on every run --------------------

STATIONS = (  # name, station id, mean-temperature offset (°C): further north is colder
    ("Norrvik centrum", "NV-01", 0.0),
    ("Älvsbacka", "NV-02", -1.5),
    ("Östra fjärden", "NV-03", 0.8),
    ("Rödhällsberget", "NV-04", -3.2),
)
KOMMUNER = (  # fictional municipalities of the demo region, with their fictional codes
    ("Sjöstad", "D01"),
    ("Älvåker", "D02"),
    ("Östbrunna", "D03"),
    ("Björkhamn", "D04"),
    ("Fjärdsund", "D05"),
    ("Hälleby", "D06"),
    ("Åskvik", "D07"),
    ("Mörtsjö", "D08"),
    ("Ödeby", "D09"),
    ("Lärkedal", "D10"),
)
PRODUCTION_TYPES = (  # type, mean monthly GWh, winter/summer swing (positive: more in winter)
    ("vattenkraft", 410.0, 0.25),
    ("vindkraft", 180.0, 0.30),
    ("solkraft", 22.0, -0.85),
    ("kraftvärme", 95.0, 0.70),
)
COUNTERS = ("Universitetsbron", "Fjällbyvägen", "Stationsgatan")
LABELS = ("positiv", "neutral", "negativ", "oklar")


def _months(first: date, count: int) -> Iterator[date]:
    for i in range(count):
        year, month = divmod(first.month - 1 + i, 12)
        yield date(first.year + year, month + 1, 1)


def air_temperature(days: int) -> pa.Table:
    """Hourly air temperature from 1 January 2024; ~0.5 % missing readings (sensor gaps).

    Each station draws from its own seeded generator, so a longer period starts with exactly
    the rows of a shorter one: version 2 extends version 1.
    """
    start = datetime(2024, 1, 1, tzinfo=UTC)
    names: list[str] = []
    ids: list[str] = []
    times: list[datetime] = []
    values: list[float | None] = []
    for name, station_id, offset in STATIONS:
        rng = random.Random(f"demo/air-temperature/{station_id}")
        weather = 0.0  # a slow random walk: fronts passing
        for hour in range(days * 24):
            time = start + timedelta(hours=hour)
            day_of_year = hour / 24
            seasonal = -9.0 + 11.0 * (1 - math.cos(2 * math.pi * day_of_year / 365)) / 2
            diurnal = 2.5 * math.sin(2 * math.pi * (time.hour - 9) / 24)
            weather = 0.97 * weather + rng.gauss(0, 0.6)
            value = seasonal + offset + diurnal + weather + rng.gauss(0, 0.3)
            names.append(name)
            ids.append(station_id)
            times.append(time)
            values.append(None if rng.random() < 0.005 else round(value, 1))
    return pa.table(
        {
            "station": pa.array(names, pa.string()),
            "station_id": pa.array(ids, pa.string()),
            "time": pa.array(times, pa.timestamp("s", tz="UTC")),
            "air_temperature_c": pa.array(values, pa.float64()),
        }
    )


def daily_precipitation() -> pa.Table:
    """Daily precipitation and snow depth for 2023 (snow depth is not measured in summer)."""
    names: list[str] = []
    days: list[date] = []
    rain: list[float] = []
    snow: list[int | None] = []
    for name, station_id, offset in STATIONS:
        rng = random.Random(f"demo/precipitation/{station_id}")
        depth = 35.0 - 4 * offset
        for i in range(365):
            day = date(2023, 1, 1) + timedelta(days=i)
            wet = rng.random() < 0.45
            amount = round(rng.expovariate(1 / 4.5), 1) if wet else 0.0
            winter = day.month in (1, 2, 3, 4, 11, 12)
            if winter:
                depth = max(0.0, depth + (amount * 0.8 if day.month != 4 else -2.5) - 0.4)
            else:
                depth = 0.0
            names.append(name)
            days.append(day)
            rain.append(amount)
            snow.append(round(depth) if winter else None)
    return pa.table(
        {
            "station": pa.array(names, pa.string()),
            "date": pa.array(days, pa.date32()),
            "precipitation_mm": pa.array(rain, pa.float64()),
            "snow_depth_cm": pa.array(snow, pa.int32()),
        }
    )


def school_costs(years: range) -> pa.Table:
    """Pupils and cost per pupil of compulsory school, per municipality and year."""
    rows: dict[str, list[Any]] = {
        "kommun": [],
        "kommunkod": [],
        "year": [],
        "pupils": [],
        "cost_per_pupil_sek": [],
        "pupils_per_teacher": [],
    }
    for kommun, code in KOMMUNER:
        rng = random.Random(f"demo/school-costs/{code}")
        pupils = rng.randint(350, 9000)
        cost = rng.randint(108_000, 142_000)
        for year in years:
            pupils = max(200, round(pupils * rng.uniform(0.97, 1.03)))
            cost = round(cost * rng.uniform(1.02, 1.06))  # costs rise faster than pupils
            rows["kommun"].append(kommun)
            rows["kommunkod"].append(code)
            rows["year"].append(year)
            rows["pupils"].append(pupils)
            rows["cost_per_pupil_sek"].append(cost)
            rows["pupils_per_teacher"].append(round(rng.uniform(10.5, 14.5), 1))
    return pa.table(
        {
            "kommun": pa.array(rows["kommun"], pa.string()),
            "kommunkod": pa.array(rows["kommunkod"], pa.string()),
            "year": pa.array(rows["year"], pa.int16()),
            "pupils": pa.array(rows["pupils"], pa.int32()),
            "cost_per_pupil_sek": pa.array(rows["cost_per_pupil_sek"], pa.int64()),
            "pupils_per_teacher": pa.array(rows["pupils_per_teacher"], pa.float64()),
        }
    )


def electricity_production() -> pa.Table:
    """Monthly electricity production by type in the region, 2019-2023."""
    rng = random.Random("demo/electricity")
    months: list[date] = []
    types: list[str] = []
    energy: list[float] = []
    for month in _months(date(2019, 1, 1), 60):
        winter = math.cos(2 * math.pi * (month.month - 1) / 12)  # 1 in January, -1 in July
        growth = 1 + 0.08 * (month.year - 2019)
        for kind, mean, swing in PRODUCTION_TYPES:
            scale = growth if kind in {"vindkraft", "solkraft"} else 1.0
            value = mean * scale * (1 + swing * winter) * rng.uniform(0.9, 1.1)
            months.append(month)
            types.append(kind)
            energy.append(round(max(value, 0.0), 2))
    return pa.table(
        {
            "month": pa.array(months, pa.date32()),
            "production_type": pa.array(types, pa.string()),
            "energy_gwh": pa.array(energy, pa.float64()),
        }
    )


def bicycle_counts() -> pa.Table:
    """Hourly bicycle counts in both directions at three counters, February 2024."""
    start = datetime(2024, 2, 1, tzinfo=UTC)
    rows: dict[str, list[Any]] = {"counter": [], "time": [], "direction": [], "cyclists": []}
    for counter in COUNTERS:
        rng = random.Random(f"demo/bicycles/{counter}")
        level = rng.uniform(40, 120)
        for hour in range(29 * 24):
            time = start + timedelta(hours=hour)
            weekday = time.weekday() < 5
            for direction, peak in (("in", 8), ("ut", 17)):
                rush = math.exp(-((time.hour - peak) ** 2) / 3) if weekday else 0.0
                daytime = max(0.0, math.sin(math.pi * (time.hour - 6) / 16))
                mean = level * (0.15 * daytime + rush)
                rows["counter"].append(counter)
                rows["time"].append(time)
                rows["direction"].append(direction)
                rows["cyclists"].append(max(0, round(rng.gauss(mean, math.sqrt(mean + 1)))))
    return pa.table(
        {
            "counter": pa.array(rows["counter"], pa.string()),
            "time": pa.array(rows["time"], pa.timestamp("s", tz="UTC")),
            "direction": pa.array(rows["direction"], pa.string()),
            "cyclists": pa.array(rows["cyclists"], pa.int32()),
        }
    )


def annotation_labels() -> pa.Table:
    """Draft sentiment labels from three annotators on 200 (fictional) text items."""
    rng = random.Random("demo/annotations")
    rows: dict[str, list[Any]] = {"item_id": [], "annotator": [], "label": [], "confidence": []}
    for item in range(1, 201):
        truth = rng.choice(LABELS)
        for annotator in ("annotatör-1", "annotatör-2", "annotatör-3"):
            agrees = rng.random() < 0.8
            rows["item_id"].append(item)
            rows["annotator"].append(annotator)
            rows["label"].append(truth if agrees else rng.choice(LABELS))
            # Some annotators skip the confidence field.
            rows["confidence"].append(None if rng.random() < 0.05 else round(rng.random(), 2))
    return pa.table(
        {
            "item_id": pa.array(rows["item_id"], pa.int32()),
            "annotator": pa.array(rows["annotator"], pa.string()),
            "label": pa.array(rows["label"], pa.string()),
            "confidence": pa.array(rows["confidence"], pa.float64()),
        }
    )


# The datasets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoVersion:
    changelog: str
    build: Callable[[], pa.Table]


@dataclass(frozen=True)
class DemoDataset:
    organisation: str
    name: str
    title: str
    description: str
    visibility: Visibility
    tags: tuple[str, ...]
    themes: tuple[str, ...]
    licence: str | None
    source: str
    collection_method: str
    temporal_start: date
    temporal_end: date
    spatial_coverage: str
    versions: tuple[DemoVersion, ...]
    agreement: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.organisation}/{self.name}"


DATASETS = (
    DemoDataset(
        organisation="norrvik-vader",
        name="lufttemperatur-timvarden",
        title="Lufttemperatur, timvärden – Norrviks väderstationer",
        description=(
            "Hourly air temperature (°C, 2 m above ground) from the four automatic weather "
            "stations of Norrviks regionala väderkontor.\n\n"
            "| column | meaning |\n|---|---|\n"
            "| `station`, `station_id` | the station |\n"
            "| `time` | start of the hour, UTC |\n"
            "| `air_temperature_c` | hourly mean; empty when the sensor was down |"
        ),
        visibility=Visibility.public,
        tags=("temperatur", "väder", "timvärden", "meteorologi"),
        themes=("environment",),
        licence="CC-BY-4.0",
        source="Automatic weather stations NV-01 to NV-04 (fictional).",
        collection_method="Pt100 sensors read every minute; hourly means; gaps left empty.",
        temporal_start=date(2024, 1, 1),
        temporal_end=date(2024, 3, 31),
        spatial_coverage="Norrvik region (fictional), northern Sweden",
        versions=(
            DemoVersion("January 2024.", lambda: air_temperature(31)),
            DemoVersion("Adds February and March 2024.", lambda: air_temperature(91)),
        ),
    ),
    DemoDataset(
        organisation="norrvik-vader",
        name="nederbord-dygn",
        title="Nederbörd och snödjup, dygnsvärden 2023",
        description=(
            "Daily precipitation (mm) and snow depth (cm) at the Norrvik stations for 2023. "
            "Snow depth is measured November to April only.\n\n"
            "Shared with the partner network while the quality control is being finished."
        ),
        visibility=Visibility.partners,
        tags=("nederbörd", "snö", "väder", "dygnsvärden"),
        themes=("environment", "agriculture"),
        licence="CC0-1.0",
        source="Automatic weather stations NV-01 to NV-04 (fictional).",
        collection_method="Weighing precipitation gauges and ultrasonic snow-depth sensors.",
        temporal_start=date(2023, 1, 1),
        temporal_end=date(2023, 12, 31),
        spatial_coverage="Norrvik region (fictional), northern Sweden",
        versions=(DemoVersion("Calendar year 2023.", daily_precipitation),),
    ),
    DemoDataset(
        organisation="sjostad-statistik",
        name="skolkostnader-per-kommun",
        title="Grundskolans kostnader per kommun",
        description=(
            "Number of pupils, cost per pupil (SEK) and pupils per teacher in compulsory "
            "school for each municipality of the Sjöstad region, per year.\n\n"
            "Costs are in current prices; compare years with care."
        ),
        visibility=Visibility.public,
        tags=("skola", "kostnader", "kommuner", "grundskola"),
        themes=("education", "economy", "regions"),
        licence="CC-BY-4.0",
        source="The municipalities' annual accounts (fictional).",
        collection_method="Compiled from the accounts each municipality reports in March.",
        temporal_start=date(2021, 1, 1),
        temporal_end=date(2023, 12, 31),
        spatial_coverage="The ten municipalities of the Sjöstad region (fictional)",
        versions=(
            DemoVersion("2021 and 2022.", lambda: school_costs(range(2021, 2023))),
            DemoVersion("Adds 2023.", lambda: school_costs(range(2021, 2024))),
        ),
    ),
    DemoDataset(
        organisation="sjostad-statistik",
        name="elproduktion-per-kraftslag",
        title="Elproduktion per kraftslag och månad",
        description=(
            "Electricity produced in the Sjöstad region per month and production type "
            "(hydro, wind, solar, combined heat and power), in GWh, 2019–2023."
        ),
        visibility=Visibility.public,
        tags=("el", "energi", "elproduktion", "förnybart"),
        themes=("energy", "environment"),
        licence="CC0-1.0",
        source="Monthly reports of the region's power producers (fictional).",
        collection_method="Metered net production, summed per type.",
        temporal_start=date(2019, 1, 1),
        temporal_end=date(2023, 12, 31),
        spatial_coverage="Sjöstad region (fictional)",
        versions=(DemoVersion("2019-2023.", electricity_production),),
    ),
    DemoDataset(
        organisation="fjallby-ai-lab",
        name="cykelflode-sensorer",
        title="Cykelflöden från räknarsensorer, februari 2024",
        description=(
            "Hourly number of cyclists passing three counters on the Fjällby campus, "
            "per direction (`in` towards campus, `ut` away from it).\n\n"
            "Partners may see this entry; the data is shared under the lab's research "
            "agreement only."
        ),
        visibility=Visibility.restricted,
        tags=("cykel", "mobilitet", "sensorer", "trafik"),
        themes=("transport", "science"),
        licence=None,
        agreement=AGREEMENT_NAME,
        source="Induction-loop bicycle counters (fictional).",
        collection_method="Counts per hour and direction; no images, no identifiers.",
        temporal_start=date(2024, 2, 1),
        temporal_end=date(2024, 2, 29),
        spatial_coverage="Fjällby university campus (fictional)",
        versions=(DemoVersion("February 2024.", bicycle_counts),),
    ),
    DemoDataset(
        organisation="fjallby-ai-lab",
        name="annoteringar-utkast",
        title="Sentimentannoteringar, utkast",
        description=(
            "Draft sentiment labels (`positiv`, `neutral`, `negativ`, `oklar`) from three "
            "annotators on 200 text items, with their confidence. Work in progress: visible "
            "to the lab only."
        ),
        visibility=Visibility.private,
        tags=("annotering", "nlp", "sentiment"),
        themes=("science",),
        licence="CC-BY-4.0",
        source="Annotation round 1 of the lab's sentiment project (fictional).",
        collection_method="Three annotators label every item independently.",
        temporal_start=date(2024, 3, 1),
        temporal_end=date(2024, 3, 15),
        spatial_coverage="Not applicable",
        versions=(DemoVersion("First annotation round.", annotation_labels),),
    ),
)


# Parquet and file metadata ------------------------------------------------------------------


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def schema_json(schema: pa.Schema) -> dict[str, Any]:
    """The Arrow schema as JSON: field names, Arrow type strings and nullability."""
    return {
        "fields": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def column_stats(table: pa.Table) -> dict[str, dict[str, Any]]:
    """Per column: nulls, and min/max where the type orders (numbers, strings, dates)."""
    stats: dict[str, dict[str, Any]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        entry: dict[str, Any] = {"nulls": column.null_count}
        kind = column.type
        orderable = (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_string(kind)
            or pa.types.is_temporal(kind)
        )
        if orderable and column.null_count < len(column):
            extremes = pc.min_max(column)
            entry["min"] = _jsonable(extremes["min"].as_py())
            entry["max"] = _jsonable(extremes["max"].as_py())
        stats[name] = entry
    return stats


# Loading ----------------------------------------------------------------------------------


@dataclass
class DemoSummary:
    """What a run created and what it found already there (human-readable lines)."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    objects_written: list[str] = field(default_factory=list)
    organisations: tuple[str, ...] = tuple(o.name for o in ORGANISATIONS)
    users: tuple[str, ...] = tuple(o.admin for o in ORGANISATIONS)
    datasets: tuple[str, ...] = tuple(d.ref for d in DATASETS)
    published_versions: int = sum(len(d.versions) for d in DATASETS)


def load_demo(session_factory: sessionmaker[Session], store: ObjectStore) -> DemoSummary:
    """Create whatever part of the demo catalog is missing; report what was already there."""
    summary = DemoSummary()
    with session_scope(session_factory) as session:
        for org in ORGANISATIONS:
            _ensure_organisation(session, org, summary)
    for spec in DATASETS:
        with session_scope(session_factory) as session:
            _ensure_dataset(session, store, spec, summary)
    return summary


def _ensure_organisation(session: Session, org: DemoOrganisation, summary: DemoSummary) -> None:
    organisation = session.scalars(
        select(Organisation).where(Organisation.name == org.name)
    ).first()
    if organisation is None:
        organisation = insert_organisation(
            session,
            name=org.name,
            title=org.title,
            description=org.description,
            homepage=org.homepage,
        )
        summary.created.append(f"organisation {org.name}")
    else:
        summary.existing.append(f"organisation {org.name}")
    user = session.scalars(select(User).where(User.username == org.admin)).first()
    if user is None:
        user = create_user(session, username=org.admin, email=_email(org), full_name=org.admin_name)
        summary.created.append(f"user {org.admin} (admin of {org.name})")
    else:
        summary.existing.append(f"user {org.admin}")
    set_membership(session, user=user, organisation=organisation, role=Role.admin)
    if org.name == AGREEMENT_ORG:
        has_agreement = session.scalars(
            select(Agreement.id).where(
                Agreement.organisation_id == organisation.id, Agreement.name == AGREEMENT_NAME
            )
        ).first()
        if has_agreement is None:
            register_agreement(
                session,
                organisation=organisation,
                name=AGREEMENT_NAME,
                title=AGREEMENT_TITLE,
                text=AGREEMENT_TEXT,
                created_by=user,
            )
            summary.created.append(f"agreement {org.name}/{AGREEMENT_NAME}")


def _ensure_dataset(
    session: Session, store: ObjectStore, spec: DemoDataset, summary: DemoSummary
) -> None:
    org = next(o for o in ORGANISATIONS if o.name == spec.organisation)
    organisation = session.scalars(
        select(Organisation).where(Organisation.name == spec.organisation)
    ).one()
    exists = session.scalars(
        select(Dataset.id).where(
            Dataset.organisation_id == organisation.id, Dataset.name == spec.name
        )
    ).first()
    if exists is not None:
        summary.existing.append(f"dataset {spec.ref}")
        return
    admin = session.scalars(select(User).where(User.username == org.admin)).one()
    principal = principal_for_user(session, admin)
    dataset = create_dataset(
        session,
        principal=principal,
        organisation=organisation,
        name=spec.name,
        title=spec.title,
        description=spec.description + SYNTHETIC_NOTE,
        visibility=spec.visibility,
        tags=list(spec.tags),
        themes=list(spec.themes),
        licence=spec.licence,
        agreement=spec.agreement,
        contact_name=org.admin_name,
        contact_email=_email(org),
        source=spec.source,
        collection_method=spec.collection_method,
        temporal_start=spec.temporal_start,
        temporal_end=spec.temporal_end,
        spatial_coverage=spec.spatial_coverage,
    )
    for version_spec in spec.versions:
        version = create_version(
            session, principal=principal, dataset=dataset, changelog=version_spec.changelog
        )
        table = version_spec.build()
        key = version_prefix(dataset, version.number) + DATA_KEY
        data = parquet_bytes(table)
        # Written before the transaction commits; a failed run leaves only objects that the
        # next run overwrites with the same bytes.
        store.put(key, io.BytesIO(data), length=len(data), content_type=PARQUET_MEDIA_TYPE)
        summary.objects_written.append(key)
        add_file(
            session,
            principal=principal,
            store=store,
            version=version,
            key=DATA_KEY,
            format="parquet",
            media_type=PARQUET_MEDIA_TYPE,
            row_count=table.num_rows,
            arrow_schema=schema_json(table.schema),
            column_stats=column_stats(table),
        )
        publish_version(session, principal=principal, store=store, version=version)
    summary.created.append(
        f"dataset {spec.ref} ({spec.visibility.value}, {len(spec.versions)} published "
        f"version{'s' if len(spec.versions) != 1 else ''})"
    )


def reset_demo(session_factory: sessionmaker[Session], store: ObjectStore) -> list[str]:
    """Delete the demo organisations (with everything in them), users and objects.

    Anything another user added to a demo organisation goes too: it belongs to the demo.
    """
    removed: list[str] = []
    names = [o.name for o in ORGANISATIONS]
    usernames = [o.admin for o in ORGANISATIONS]
    with session_scope(session_factory) as session:
        found = list(session.scalars(select(Organisation.name).where(Organisation.name.in_(names))))
        # Datasets first: their versions point at the organisation's agreements, and
        # PostgreSQL may check that reference before it reaches the versions in one cascade.
        # The database cascades the rest: versions, files, tags, agreements, memberships.
        org_ids = select(Organisation.id).where(Organisation.name.in_(names))
        session.execute(delete(Dataset).where(Dataset.organisation_id.in_(org_ids)))
        session.execute(delete(Organisation).where(Organisation.name.in_(names)))
        users = list(session.scalars(select(User.username).where(User.username.in_(usernames))))
        session.execute(delete(User).where(User.username.in_(usernames)))
    removed += [f"organisation {n}" for n in found] + [f"user {u}" for u in users]
    # Objects last, and always: a run that failed after the commit left them behind.
    count = 0
    for name in names:
        for info in list(store.list(f"datasets/{name}/")):
            store.delete(info.key)
            count += 1
    if count:
        removed.append(f"{count} object{'s' if count != 1 else ''}")
    return removed
