"""The statistics pages: who may see them, what they show, downloads and their log, and a scan
of every export of the demo release for anything that identifies a person or a home."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from rentalcoop.access import MUNICIPALITY_ENDPOINTS
from rentalcoop.accounts.models import User
from rentalcoop.bookings.models import Booking
from rentalcoop.extensions import db
from rentalcoop.listings.models import Area, Listing
from rentalcoop.stats import services
from rentalcoop.stats.models import StatsDownload, StatsRelease
from tests import factories
from tests.helpers import login, logout, post_form, text_of
from tests.stats.towns import district

STATS_URLS = ("/stats/", "/stats/2026-03", "/stats/2026-03.csv", "/stats/2026-03.json")


@pytest.fixture
def town(app):
    with app.app_context():
        district("A01", 4)
        district("B01", 6)
        district("C01", 7)
        factories.user(email="kommun@example.org", municipality=True)
        factories.user(email="styrelse@example.org", board=True)
        factories.host(email="vard@example.org")
        factories.user(email="gast@example.org")
        services.release_month("2026-03", today=date(2026, 4, 2))
        db.session.commit()


def _sample(rule) -> str:
    """A concrete URL for a rule: 1 for every number (2026 for a year), "x" for every string."""
    from werkzeug.routing import IntegerConverter

    from rentalcoop.input_guard import YearConverter

    def sample(conv):
        if isinstance(conv, YearConverter):
            return 2026
        return 1 if isinstance(conv, IntegerConverter) else "x"

    values = {arg: sample(conv) for arg, conv in rule._converters.items()}
    return rule.build(values)[1]


def test_the_municipality_gets_403_everywhere_outside_stats(app, client, town):
    """Every page of the application, as registered now: only the statistics, the account
    pages and the health check are open to a municipality account."""
    login(client, "kommun@example.org")
    named = ["/", "/listings/1", "/trips", "/host/reservations", "/membership", "/board/members"]
    named += ["/about", "/host/listings", "/messages", "/board/ledger", "/bookings/1"]
    checked = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in MUNICIPALITY_ENDPOINTS:
            continue
        if rule.endpoint.startswith("stats."):
            continue
        url = _sample(rule)
        checked.add(url)
        assert client.get(url).status_code == 403, url
    for url in named:
        assert client.get(url).status_code == 403, url
    assert {"/", "/trips", "/about"} <= checked
    for url in STATS_URLS:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("email", ["vard@example.org", "gast@example.org"])
def test_hosts_and_guests_get_403_on_every_stats_url(client, town, email):
    login(client, email)
    for url in (*STATS_URLS, "/stats/2026-03?version=1", "/stats/1999-01"):
        assert client.get(url).status_code == 403, url
    assert client.post("/stats/release", data={"period": "2026-03"}).status_code in (400, 403)


def test_anonymous_visitors_are_sent_to_log_in(client, town):
    for url in STATS_URLS:
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_the_release_page_shows_tables_and_svg_charts_without_inline_style(client, town):
    login(client, "kommun@example.org")
    index = text_of(client.get("/stats/"))
    assert "2026-03" in index
    page = text_of(client.get("/stats/2026-03"))
    assert page.count("<svg") == 2
    assert 'class="stats-chart__bar"' in page
    assert "style=" not in page
    assert "<script>" not in page
    assert "<script " not in page.replace('<script src="', "")
    assert 'class="stats-withheld"' in page  # A01 has four units
    assert client.get("/stats/2026-02").status_code == 404
    assert client.get("/stats/2026-3").status_code == 404
    assert client.get("/stats/2026-03?version=9").status_code == 404


def test_downloads_are_csv_and_json_and_logged(app, client, town):
    login(client, "kommun@example.org")
    response = client.get("/stats/2026-03.csv")
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    human = body.decode("utf-8-sig").splitlines()
    assert human[0] == (
        "Utgivningsmånad;Version;Områdeskod;Periodtyp;Period;Boendetyp;Mått;Värde;"
        "Markering (c = undertryckt)"
    )
    assert "amount_ore" not in human[0]
    assert "occupancy_pct" not in "\n".join(human)
    assert any(";Beläggning %;" in line for line in human)
    keyed = client.get("/stats/2026-03.csv?columns=keys").get_data().decode("utf-8-sig")
    lines = keyed.splitlines()
    assert lines[0] == (
        "period;version;area_code;period_kind;period_label;property_type;measure;value;flag"
    )
    assert len(lines) == len(human)  # the same rows and columns, in the same order
    assert [line.split(";")[7:] for line in lines[1:]] == [
        line.split(";")[7:] for line in human[1:]
    ]
    rows = [line.split(";") for line in lines[1:]]
    assert all(len(r) == 9 for r in rows)
    withheld = [r for r in rows if r[8] == "c"]
    assert withheld
    assert all(r[7] == "" for r in withheld)
    assert {r[2] for r in rows} == {"A01", "B01", "C01", "total"}

    data = json.loads(client.get("/stats/2026-03.json").get_data())
    assert data["rules"] == {
        "min_units": 5,
        "min_hosts": 3,
        "dominance_n": 2,
        "dominance_pct": 85,
        "protection_pct": 30,
        "round_counts": 5,
        "round_nights": 10,
    }
    assert data["release"]["period"] == "2026-03"
    assert len(data["cells"]) == len(rows)
    for cell in data["cells"]:
        assert set(cell) == {
            "area_code",
            "period_kind",
            "period",
            "property_type",
            "measure",
            "value",
            "flag",
        }
        assert (cell["value"] is None) or cell["flag"] == ""
    published = [c for c in data["cells"] if c["measure"] == "booked_nights" and c["flag"] == ""]
    assert all(c["value"] % 10 == 0 for c in published)

    with app.app_context():
        log = db.session.scalars(select(StatsDownload).order_by(StatsDownload.id)).all()
        me = db.session.scalar(select(User).where(User.email == "kommun@example.org"))
        release = db.session.scalar(select(StatsRelease))
        assert [(d.user_id, d.release_id, d.format) for d in log] == [
            (me.id, release.id, "csv"),
            (me.id, release.id, "csv"),  # the one with the machine keys
            (me.id, release.id, "json"),
        ]
        assert not hasattr(StatsDownload, "ip")
        assert not hasattr(StatsDownload, "remote_addr")


def test_the_board_can_release_a_month_from_the_page(app, client, town):
    login(client, "styrelse@example.org")
    period = services.previous_month()
    response = post_form(client, "/stats/release", {"period": period}, form_url="/stats/")
    assert response.status_code == 302
    with app.app_context():
        assert services.latest_release(period) is not None
    # Without the form's token: refused.
    assert client.post("/stats/release", data={"period": period}).status_code == 400
    # The municipality reads, it does not publish.
    logout(client)
    login(client, "kommun@example.org")
    assert "release-now" not in text_of(client.get("/stats/"))
    assert client.post("/stats/release", data={"period": period}).status_code in (400, 403)


def test_the_board_sees_the_audit_and_the_municipality_does_not(client, town):
    """Issue 19: the audit's result is stored with the release and shown to the board."""
    login(client, "styrelse@example.org")
    page = client.get("/stats/2026-03?lang=en").get_data(as_text=True)
    assert 'id="release-audit"' in page
    assert "keeps its protection interval" in page
    logout(client)
    login(client, "kommun@example.org")
    assert 'id="release-audit"' not in client.get("/stats/2026-03").get_data(as_text=True)


def test_a_refused_release_is_a_message_for_the_board(app, client, town, monkeypatch):
    """A release the audit cannot protect is not published; the board reads why."""

    def refuse(period, rules):
        raise services.ReleaseRefused(services._l("Nothing."))

    monkeypatch.setattr(services, "plan_release", refuse)
    login(client, "styrelse@example.org")
    period = services.previous_month()
    response = post_form(client, "/stats/release", {"period": period}, form_url="/stats/")
    assert response.status_code == 302
    assert "Nothing." in text_of(client.get("/stats/"))
    with app.app_context():
        assert services.latest_release(period) is None


# --- the demo release, scanned ------------------------------------------------------------


def test_no_export_of_the_demo_release_identifies_anyone(app, client, demo_town):
    from rentalcoop.demo import DEMO_PASSWORD, MUNICIPALITY_EMAIL

    with app.app_context():
        release = db.session.scalar(select(StatsRelease))
        assert release is not None
        period = release.period
        people = db.session.execute(select(User.name, User.email)).all()
        homes = db.session.execute(
            select(Listing.id, Listing.title, Listing.street_address, Listing.registration_number)
        ).all()
        codes = db.session.scalars(select(Booking.code)).all()
        areas = {code: name for code, name in db.session.execute(select(Area.code, Area.name))}
    login(client, MUNICIPALITY_EMAIL, DEMO_PASSWORD)
    exports = {
        "html": text_of(client.get(f"/stats/{period}")),
        "index": text_of(client.get("/stats/")),
        "csv": client.get(f"/stats/{period}.csv").get_data().decode("utf-8-sig"),
        "json": client.get(f"/stats/{period}.json").get_data(as_text=True),
    }
    json_text = json.dumps(json.loads(exports["json"]), ensure_ascii=False)
    exports["json"] += json_text
    forbidden = []
    for name, email in people:
        if name != "Ekby kommun, samhällsbyggnad":  # the reader's own name in the header
            forbidden.append(name)
        if email != MUNICIPALITY_EMAIL:
            forbidden.append(email)
    for _id, title, street, registration in homes:
        forbidden += [title, street]
        if registration:
            forbidden.append(registration)
    forbidden += codes
    forbidden = [f for f in forbidden if f]
    for kind, text in exports.items():
        for value in forbidden:
            assert value not in text, (kind, value)
        assert "@" not in text.replace(MUNICIPALITY_EMAIL, "") or kind in ("html", "index")
        assert not re.search(r"/listings/\d|/bookings/\d|/host/|/ical/", text), kind
        assert not re.search(r"\b\d{3} ?\d{2}\b(?=\s+[A-ZÅÄÖ])", text), kind  # postcodes
        if kind in ("csv", "json"):
            for area_name in areas.values():
                assert area_name not in text  # only codes in the files
    # The files carry only the fixed dimensions: no other field at all.
    data = json.loads(client.get(f"/stats/{period}.json").get_data())
    assert set(data) == {"release", "rules", "flags", "cells"}
    assert set(data["release"]) == {"period", "version", "published_at", "supersedes_version"}
    assert {key for cell in data["cells"] for key in cell} == {
        "area_code",
        "period_kind",
        "period",
        "property_type",
        "measure",
        "value",
        "flag",
    }
    assert {c["area_code"] for c in data["cells"]} <= {*areas, "total"}
    assert {c["measure"] for c in data["cells"]} <= set(services.MEASURES)
    # Published and withheld cells both appear in the demo release.
    assert any(c["flag"] == "" and c["value"] is not None for c in data["cells"])
    assert ";c\r\n" in client.get(f"/stats/{period}.csv").get_data().decode("utf-8-sig") + "\r\n"


def test_the_year_chart_reads_each_earlier_month_from_its_newest_release(app, client):
    with app.app_context():
        for month in (1, 2, 3):
            district(f"A{month}", 6, month=(2026, month))
            district(f"B{month}", 6, month=(2026, month))
        factories.user(email="kommun@example.org", municipality=True)
        for month in (1, 3):  # February was never released
            services.release_month(f"2026-{month:02d}", today=date(2026, 4, 2))
        db.session.commit()
    login(client, "kommun@example.org")
    page = text_of(client.get("/stats/2026-03"))
    chart = page[
        page.index('id="chart-nights"') : page.index("</svg>", page.index('id="chart-nights"'))
    ]
    labels = re.findall(r'class="stats-chart__label"[^>]*>([^<]+)<', chart)
    assert labels == ["01", "02", "03"]
    assert chart.count('class="stats-chart__bar"') == 2  # January and March; February: –
    assert ">–<" in chart
