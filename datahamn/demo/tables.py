"""The demo's data generators: each returns an Arrow table, the same one on every run.

Every value is synthetic. Each generator draws from its own seeded ``random.Random``, so the
tables never depend on the order they are built in or on anything outside this module.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

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
