"""A release as CSV (Swedish spreadsheets: UTF-8 with BOM, `;`, decimal comma) and JSON.

Only the fixed dimensions and the values: no ids, no names — the release is named by its
month and version.

Two CSVs with the same columns in the same order (`CSV_COLUMNS`, stable; README "Statistics
files"): for people, headers and the period kind, property type and measure in the reader's
language; for programs (`?columns=keys`), the machine keys of the JSON in headers and cells.
"""

from __future__ import annotations

import csv
import io

from rentalcoop.i18n import _l
from rentalcoop.stats.models import StatsRelease
from rentalcoop.stats.services import MEASURE_LABELS, MEASURES, PERIOD_KIND_LABELS, release_order

CSV_COLUMNS = (
    "period",
    "version",
    "area_code",
    "period_kind",
    "period_label",
    "property_type",
    "measure",
    "value",
    "flag",
)
# The same columns, as a person reads them (in the order of CSV_COLUMNS).
CSV_HEADERS = (
    _l("Release month"),
    _l("Version"),
    _l("District code"),
    _l("Period kind"),
    _l("Period"),
    _l("Property type"),
    _l("Measure"),
    _l("Figure"),
    _l("Flag (c = withheld)"),
)


def _csv_value(measure: str, value: float | None) -> str:
    if value is None:
        return ""
    if MEASURES[measure] == "decimal":
        return f"{value:.1f}".replace(".", ",")
    return str(int(value))


def _json_value(measure: str, value: float | None) -> float | int | None:
    if value is None or MEASURES[measure] == "decimal":
        return value
    return int(value)


def release_csv(release: StatsRelease, *, keys: bool = False) -> str:
    """The release for a spreadsheet; `keys` for programs (the JSON's keys, never translated)."""
    from rentalcoop.stats.pages import type_label

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS if keys else [str(header) for header in CSV_HEADERS])
    kinds = {kind: str(label) for kind, label in PERIOD_KIND_LABELS.items()}
    measures = {measure: str(label) for measure, label in MEASURE_LABELS.items()}
    types: dict[str, str] = {}
    for cell in release_order(release):
        if keys:
            kind, ptype, measure = cell.period_kind, cell.property_type, cell.measure
        else:
            kind, measure = kinds[cell.period_kind], measures[cell.measure]
            if cell.property_type not in types:
                types[cell.property_type] = type_label(cell.property_type)
            ptype = types[cell.property_type]
        writer.writerow(
            (
                release.period,
                release.version,
                cell.area_code,
                kind,
                cell.period_label,
                ptype,
                measure,
                _csv_value(cell.measure, cell.value),
                cell.flag,
            )
        )
    return out.getvalue()


def release_json(release: StatsRelease) -> dict:
    return {
        "release": {
            "period": release.period,
            "version": release.version,
            "published_at": release.published_at.isoformat() if release.published_at else None,
            "supersedes_version": release.supersedes.version if release.supersedes else None,
        },
        "rules": release.parameters,
        "flags": {"c": "withheld by disclosure control (no value)"},
        "cells": [
            {
                "area_code": cell.area_code,
                "period_kind": cell.period_kind,
                "period": cell.period_label,
                "property_type": cell.property_type,
                "measure": cell.measure,
                "value": _json_value(cell.measure, cell.value),
                "flag": cell.flag,
            }
            for cell in release_order(release)
        ],
    }
