"""Browser tests: Playwright for Python driving Debian's chromium headless (`apt-get install
chromium`; .ci/run installs it) against pytest-django's live server.

Without a chromium these tests skip, saying why, unless LOYALTY_BROWSER_TESTS=require (set by
.ci/run), where a missing browser fails them. LOYALTY_CHROMIUM names another executable.
Screenshots are test artefacts under var/screenshots/.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the test body's ORM calls are still
# plain synchronous code (Django's guard would refuse them).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _chromium() -> str | None:
    return os.environ.get("LOYALTY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None:
        if os.environ.get("LOYALTY_BROWSER_TESTS") == "require":
            pytest.fail("no chromium found (apt-get install chromium) and LOYALTY_BROWSER_TESTS=require")
        pytest.skip("no chromium on this machine (apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """screenshot("dashboard"): the whole page, saved as var/screenshots/dashboard.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, username: str, password: str) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
