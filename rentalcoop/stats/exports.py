"""A release as CSV (Swedish spreadsheets: UTF-8 with BOM, `;`, decimal comma) and JSON.

Only the fixed dimensions and the values: no ids, no names — the release is named by its
month and version.
"""

from __future__ import annotations

import csv
import io

from rentalcoop.stats.models import StatsRelease
from rentalcoop.stats.services import MEASURES, release_order

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


def release_csv(release: StatsRelease) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for cell in release_order(release):
        writer.writerow(
            (
                release.period,
                release.version,
                cell.area_code,
                cell.period_kind,
                cell.period_label,
                cell.property_type,
                cell.measure,
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
