"""Fixtures for the browser tests: the service on a loopback port with the demo data, and
Debian's headless Chromium driven by Selenium (see tools/browser.py: nothing is downloaded).

`make browser` installs Debian's `chromium` and `chromium-driver`. Without them the tests are
skipped with a message, except under CI=true, where they fail.

They run on the real clock (marker ``real_clock``): Chromium judges cookies by it, and the
demo data is dated from it when the module starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pytest
from flask import Flask

from remote_groups import create_app
from remote_groups.demo import STAFF_PASSWORD, load_demo
from remote_groups.extensions import db
from tools.browser import missing_browser, quit_chromium, serve, start_chromium

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WAIT_SECONDS = 15


def _unavailable(message: str) -> None:
    """Fail under CI=true, where the browser tests must run; skip with the reason elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true requires the browser tests)", pytrace=False)
    pytest.skip(message + ": browser tests skipped (CI would fail)")


def axe_script() -> str:
    """axe-core as shipped inside the axe-selenium-python-nhsuk wheel (no download)."""
    package = resources.files("axe_selenium_python")
    return (package / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if missing := missing_browser():
        _unavailable(f"Chromium is not installed ({', '.join(missing)} missing; `make browser`)")
    try:
        import axe_selenium_python  # noqa: F401
        import selenium  # noqa: F401
    except ImportError as error:
        _unavailable(f"{error.name} is not installed (pip install -e '.[test]')")
    driver = start_chromium()
    yield driver
    quit_chromium(driver)


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    """Overrides the per-test cleaning: the demo data stays for the module (`live_server`
    empties the tables when the module is done)."""
    yield


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="module")
def live_server(
    app: Flask, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The demo data in the test database, served by a second app (no SERVER_NAME, so any
    host name works) on a free loopback port in a background thread."""
    with app.app_context():
        load_demo()
        db.session.commit()
    served = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "browser-test-secret-key-long-enough-0000",
            "MAIL_DIR": str(tmp_path_factory.mktemp("browser-mail")),
            # Every page test logs in again from 127.0.0.1, over a hundred times in one
            # module: more than the 30 logins per 15 minutes one address may make. The limit
            # itself is tested in tests/test_security.py.
            "RATE_LIMIT_LOGIN": (1000, 900),
        }
    )
    try:
        with serve(served) as url:
            yield LiveServer(url, app)
    finally:
        with served.app_context():
            db.engine.dispose()
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())


class Site:
    """What a test does in the browser: choose a language, log in, open a page, run axe."""

    def __init__(self, driver: Any, server: LiveServer) -> None:
        self.driver = driver
        self.server = server

    def open(self, path: str) -> None:
        self.driver.get(self.server.url + path)

    def choose_language(self, code: str) -> None:
        """Through the language link's route, which remembers the choice in a cookie."""
        self.open(f"/language/{code}?next=/")
        assert self.driver.find_element("css selector", "html").get_attribute("lang") == code

    def log_in(self, email: str, password: str = STAFF_PASSWORD) -> None:
        self.open("/staff/login")
        self.driver.find_element("id", "email").send_keys(email)
        self.driver.find_element("id", "password").send_keys(password)
        self.driver.find_element("css selector", "main form button[type=submit]").click()
        # Waits for the address, not for the old button to go stale: Chromium may answer a
        # staleness probe made mid-navigation with "Node … does not belong to the document".
        self._wait().until(
            lambda driver: "/staff/login" not in driver.current_url,
            "the demo login works and leaves the login page",
        )

    def wait_for(self, css: str) -> Any:
        """The first element matching ``css``, once the page has it."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self._wait().until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))

    def wait_for_url(self, part: str) -> None:
        from selenium.webdriver.support import expected_conditions as ec

        self._wait().until(ec.url_contains(part))

    def press(self, key: str) -> None:
        """One key by its name ("TAB", "ENTER", "SPACE"), sent to whatever has focus."""
        from selenium.webdriver.common.keys import Keys

        self.type(getattr(Keys, key))

    def type(self, text: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(text).perform()

    def _wait(self) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT_SECONDS)

    def axe_violations(self) -> list[dict[str, Any]]:
        self.driver.execute_script(axe_script())
        results = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
            ".then(done, error => done({error: String(error)}));",
            AXE_TAGS,
        )
        assert "error" not in results, results.get("error")
        return results["violations"]


@pytest.fixture
def site(chromium: Any, live_server: LiveServer) -> Site:
    """The shared browser, with no cookies and no screen size left from the previous test."""
    chromium.delete_all_cookies()
    chromium.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return Site(chromium, live_server)


def describe(violations: list[dict[str, Any]]) -> str:
    """Each violation's rule, help, link and failing elements, for the failure message."""
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"      {summary[:300]}")
    return "\n".join(lines)
