"""The municipality's view of the statistics releases: list, release page, CSV and JSON.

Only frozen releases are shown; there are no ad-hoc queries, date ranges or filters beyond the
fixed dimensions (DESIGN §13). Every download is logged: who, which release, which format.
"""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from rentalcoop.access import role_required
from rentalcoop.accounts.models import Role
from rentalcoop.db import begin_write
from rentalcoop.extensions import db
from rentalcoop.i18n import _
from rentalcoop.input_guard import query_int
from rentalcoop.stats import bp, exports, pages, services
from rentalcoop.stats.forms import ReleaseForm
from rentalcoop.stats.models import StatsDownload, StatsRelease


def get_release_or_404(period: str) -> StatsRelease:
    """The newest version of a month's release, or `?version=N` of it."""
    if not services.PERIOD_RE.match(period):
        abort(404)
    version = query_int("version")
    release = services.find_release(period, version)
    if release is None:
        abort(404)
    return release


@bp.get("/")
@role_required(Role.MUNICIPALITY, Role.BOARD)
def index():
    """The published releases, newest month first."""
    form = ReleaseForm() if current_user.is_board else None
    return render_template("stats/index.html", releases=services.published_releases(), form=form)


@bp.post("/release")
@role_required(Role.BOARD)
def release_now():
    """The board freezes a finished month now instead of waiting for the nightly job."""
    form = ReleaseForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        made = services.publish_month(form.period.data)
    except services.StatsError as err:
        flash(err.message, "error")
        return redirect(url_for("stats.index"))
    if made is None:
        flash(
            _(
                "Nothing changed since the published release of %(period)s.",
                period=form.period.data,
            ),
            "info",
        )
    else:
        flash(
            _(
                "Published %(period)s, version %(version)s.",
                period=made.period,
                version=made.version,
            ),
            "success",
        )
    return redirect(url_for("stats.index"))


@bp.get("/<period>")
@role_required(Role.MUNICIPALITY, Role.BOARD)
def release(period: str):
    """One release: tables of every cell and charts of the year so far."""
    release = get_release_or_404(period)
    return render_template("stats/release.html", **pages.release_page(release))


def _log_download(release: StatsRelease, fmt: str) -> None:
    begin_write(db.session)
    db.session.add(StatsDownload(user_id=current_user.id, release_id=release.id, format=fmt))
    db.session.commit()


@bp.get("/<period>.csv")
@role_required(Role.MUNICIPALITY, Role.BOARD)
def release_csv(period: str):
    """The release for a spreadsheet, with headers in the reader's language; `?columns=keys`
    gives the same columns with the machine keys (for programs)."""
    release = get_release_or_404(period)
    body = exports.release_csv(release, keys=request.args.get("columns") == "keys")
    _log_download(release, "csv")
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=stats-{release.period}-v{release.version}.csv"
        },
    )


@bp.get("/<period>.json")
@role_required(Role.MUNICIPALITY, Role.BOARD)
def release_json(period: str):
    """The release with its rule parameters, for programs."""
    release = get_release_or_404(period)
    body = json.dumps(exports.release_json(release), ensure_ascii=False, indent=1)
    _log_download(release, "json")
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f"attachment; filename=stats-{release.period}-v{release.version}.json"
        },
    )
