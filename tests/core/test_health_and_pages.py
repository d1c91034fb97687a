from tests import factories
from tests.helpers import text_of


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_unreachable_database(app, tmp_path):
    from config import TestingConfig
    from rentalcoop import create_app

    broken = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.db"
    )
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_home_is_swedish_by_default_and_english_on_request(app, client):
    with app.app_context():
        factories.listing(title="Stuga vid sjön")
        factories.db.session.commit()
    swedish = text_of(client.get("/"))
    assert '<html lang="sv">' in swedish
    assert "Stuga vid sjön" in swedish
    assert "Sök" in swedish
    english = text_of(client.get("/?lang=en"))
    assert '<html lang="en">' in english
    assert "Search" in english
    # The switch is remembered for the next page.
    assert '<html lang="en">' in text_of(client.get("/about"))


def test_accept_language_is_followed_without_a_choice(client):
    page = text_of(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert '<html lang="en">' in page
    page = text_of(client.get("/", headers={"Accept-Language": "de-DE"}))
    assert '<html lang="sv">' in page


def test_listing_page_shows_price_in_swedish_format(app, client):
    with app.app_context():
        home = factories.listing(title="Sjöbod", nightly_price_ore=123_450)
        factories.db.session.commit()
        listing_id = home.id
    page = text_of(client.get(f"/listings/{listing_id}"))
    assert "1\xa0234,50\xa0kr" in page
    page = text_of(client.get(f"/listings/{listing_id}?lang=en"))
    assert "SEK\xa01,234.50" in page or "SEK 1,234.50" in page


def test_unpublished_listing_is_not_found(app, client):
    with app.app_context():
        home = factories.listing(state="draft")
        factories.db.session.commit()
        listing_id = home.id
    assert client.get(f"/listings/{listing_id}").status_code == 404


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_pages_have_no_inline_script_or_style(client):
    page = text_of(client.get("/"))
    assert "<script>" not in page
    assert " style=" not in page
