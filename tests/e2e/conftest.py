"""Browser-test fixtures: the test's app served on loopback, driven by Debian's Chromium.

Reuse in any browser test (mark the module with `pytestmark = pytest.mark.e2e`):

- `live_server`: base URL (`http://127.0.0.1:<port>`) of a real HTTP server for this test's
  `app`, on its own freshly migrated database. Set up data with `ctx` and commit it.
- `page`: a fresh Playwright page (own cookies) in a Swedish browser (`sv-SE`, Stockholm time),
  whose relative URLs resolve against `live_server`. A test fails if any page answered 5xx,
  broke the Content-Security-Policy or threw a script error. Override `browser_context_args`
  for another locale or viewport.
- `snap(step)`: save a full-page screenshot to `test-artifacts/e2e/<test-name>-<step>.png`
  (a failing test also gets `<test-name>-failure.png`; on PostgreSQL all go to
  `test-artifacts/e2e/postgresql/`) and check the page with axe-core: a serious or critical
  violation fails the test (`assert_accessible(page)` does the same).
- `login_in_browser(page, base_url, email, password)` and `logout_in_browser(page)`.

Without /usr/bin/chromium, or without axe-core (`make e2e-deps`, which needs npm, installs it
from tests/e2e/package-lock.json), every browser test is skipped, saying how to install it.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import DIALECT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent
# axe-core from npm (tests/e2e/package.json), added to every page before the page's own scripts
# by Playwright's init script (the DevTools protocol, so the site's CSP does not apply to it).
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
# What fails a test: axe's two highest impact levels (moderate and minor ones are reported only
# in the message when something serious fails).
AXE_FAILING_IMPACTS = ("serious", "critical")
# Playwright waits at most this long for an element or a page: the server is local.
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config, items):
    """Skip browser tests, before any database is built, where there is no Chromium or axe."""
    if not CHROMIUM.exists():
        reason = "Debian's chromium is not installed: apt-get install chromium"
    elif not AXE.exists():
        reason = (
            "axe-core is not installed: `make e2e-deps` (needs node and npm: apt-get install npm)"
        )
    else:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so `page` can screenshot a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def live_server(app):
    """Serve this test's app over HTTP on a free loopback port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Debian Chromium for the whole run (a launch costs about a second)."""
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def browser_context_args():
    """Options of each test's browser context; override for another language or screen."""
    return {
        "locale": "sv-SE",
        "timezone_id": "Europe/Stockholm",
        "viewport": {"width": 1280, "height": 900},
    }


class PageWatch:
    """What went wrong in the browser during a test: 5xx answers, CSP breaches, script errors."""

    def __init__(self, page):
        self.server_errors: list[str] = []
        self.csp_violations: list[str] = []
        self.script_errors: list[str] = []
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.script_errors.append(str(exc)))

    def _on_response(self, response):
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def _on_console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    @property
    def problems(self) -> list[str]:
        return self.server_errors + self.csp_violations + self.script_errors


@pytest.fixture
def page(request, browser, browser_context_args, live_server):
    """A new page in its own browser context, pointed at `live_server`."""
    context = new_context(browser, live_server, **browser_context_args)
    page = context.new_page()
    watch = PageWatch(page)
    yield page
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        page.screenshot(path=artifact_path(request, "failure"), full_page=True)
    context.close()
    assert not watch.problems, "the browser saw problems:\n" + "\n".join(watch.problems)


def new_context(browser, base_url: str, **options):
    """A browser context with Playwright's short timeout and axe-core in every page."""
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(path=str(AXE))
    return context


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.x A/AA and best practices)."""
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
            }));
        }"""
    )


def assert_accessible(page) -> None:
    """Fail on any serious or critical axe-core violation, naming the rule and the elements."""
    page.wait_for_load_state()
    found = axe_violations(page)
    failing = [v for v in found if v["impact"] in AXE_FAILING_IMPACTS]
    assert not failing, f"axe-core on {page.url}:\n" + "\n".join(
        f"{v['impact']} {v['id']} ({v['help']}): {', '.join(v['nodes'])}" for v in found
    )


def artifact_path(request, step: str) -> str:
    """`test-artifacts/e2e/<test-name>-<step>.png` under the project root (in its `postgresql/`
    folder on PostgreSQL: `make test` runs both passes at once, and each keeps its own)."""
    name = re.sub(r"[^A-Za-z0-9_.]+", "-", f"{request.node.name}-{step}").strip("-")
    folder = request.config.rootpath / "test-artifacts" / "e2e"
    if DIALECT == "postgresql":
        folder /= "postgresql"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{name}.png")


@pytest.fixture
def snap(request, page):
    """`snap("step")` saves a full-page screenshot of the page as a test artifact."""

    def take(step: str) -> str:
        path = artifact_path(request, step)
        page.screenshot(path=path, full_page=True)
        assert_accessible(page)
        return path

    return take


def login_in_browser(page, base_url: str, email: str, password: str) -> None:
    """Log in through the form, as a person would, and wait until the account menu shows."""
    page.goto(f"{base_url}/login")
    form = page.locator("main form")
    form.get_by_label("E-post" if _is_swedish(page) else "Email", exact=True).fill(email)
    form.get_by_label("Lösenord" if _is_swedish(page) else "Password", exact=True).fill(password)
    form.get_by_role("button", name="Logga in" if _is_swedish(page) else "Log in").click()
    page.locator("details.account-menu").wait_for()


def logout_in_browser(page) -> None:
    """Log out through the account menu in the header."""
    menu = page.locator("details.account-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    menu.get_by_role("button", name="Logga ut" if _is_swedish(page) else "Log out").click()
    page.get_by_role("link", name="Logga in" if _is_swedish(page) else "Log in").wait_for()


def _is_swedish(page) -> bool:
    return page.locator("html").get_attribute("lang") == "sv"
