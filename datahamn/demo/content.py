"""What the demo catalog contains: fictional partners, their admins, an agreement, six datasets.

Plain data only: each version names the generator of its table (``datahamn.demo.tables``), and
``datahamn.demo.loader`` writes it all to the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from catalog.models import Visibility
from datahamn.demo.tables import (
    air_temperature,
    annotation_labels,
    bicycle_counts,
    daily_precipitation,
    electricity_production,
    school_costs,
)

PROJECT_LICENCE = "Apache-2.0"

SYNTHETIC_NOTE = (
    "\n\n---\n\n*Demo data.* The organisation, places and every value here are fictional: "
    "they are generated deterministically by `datahamn demo` (`datahamn/demo/`) and ship "
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
