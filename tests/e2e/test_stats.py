"""The municipality's journey in a real Swedish browser: log in, open a release, see its
charts, download the CSV."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from rentalcoop.extensions import db
from rentalcoop.stats import services
from tests import factories
from tests.e2e.conftest import login_in_browser
from tests.stats.towns import district

pytestmark = pytest.mark.e2e

EMAIL = "kommunen@example.org"


def test_the_municipality_opens_a_release_sees_a_chart_and_downloads_the_csv(
    app, page, live_server, snap, tmp_path
):
    with app.app_context():
        district("A01", 4)
        district("B01", 6)
        district("C01", 7)
        factories.user(email=EMAIL, name="Ekby kommun", municipality=True)
        services.release_month("2026-03", today=date(2026, 4, 2))
        db.session.commit()

    login_in_browser(page, live_server, EMAIL, factories.PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    menu = page.locator("details.account-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    menu.get_by_role("link", name="Statistik").click()
    expect(page.get_by_role("heading", name="Statistik över korttidsuthyrning")).to_be_visible()
    snap("1-releases")

    page.get_by_role("link", name="2026-03", exact=True).click()
    expect(page.get_by_role("heading", name="Korttidsuthyrning, 2026-03")).to_be_visible()
    chart = page.locator("svg#chart-nights")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.stats-chart__bar")).to_have_count(1)  # March: the one month
    expect(page.locator("svg#chart-bands")).to_be_visible()
    expect(page.locator("figcaption").first).to_contain_text("Bokade nätter")
    expect(page.locator("td.stats-withheld").first).to_have_text("c")
    snap("2-release")

    with page.expect_download() as info:
        page.get_by_role("link", name="Ladda ner CSV").click()
    download = info.value
    assert download.suggested_filename == "stats-2026-03-v1.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header.split(";")[:3] == ["Utgivningsmånad", "Version", "Områdeskod"]  # for people
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV för program").click()
    keyed = info.value
    keyed_path = tmp_path / "keys.csv"
    keyed.save_as(keyed_path)
    keyed_header = keyed_path.read_bytes().decode("utf-8-sig").splitlines()[0]
    assert keyed_header.split(";")[:3] == ["period", "version", "area_code"]
