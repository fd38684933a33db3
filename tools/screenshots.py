"""`make screenshots`: the group page and the application form (empty, and sent empty so that
its errors show), 320 and 1280 CSS pixels wide, in Finnish and Swedish, as full-page PNGs in
screenshots/ for a reviewer to look at.

The service runs on a temporary SQLite database with the demo data, on a loopback port.
Run from the repository root: `python -m tools.screenshots [OUTPUT_DIR]`.
"""

from __future__ import annotations

import base64
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from remote_groups import create_app
from remote_groups.config import ROOT
from remote_groups.demo import load_demo
from remote_groups.extensions import db
from tools.browser import emulate_width, missing_browser, quit_chromium, serve, start_chromium

WIDTHS = (320, 1280)
LANGUAGES = ("fi", "sv")
PAGES = {
    "group-page": "/groups/avoin-etaryhma",
    "application-form": "/groups/hyvinvointikurssi/apply",
    "application-form-errors": "/groups/hyvinvointikurssi/apply",
}


def full_page_png(driver: Any, width: int) -> bytes:
    """The whole page, laid out ``width`` pixels wide, however long it is."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    emulate_width(driver, width, height)
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    return base64.b64decode(shot["data"])


def take(driver: Any, url: str, output: Path) -> list[Path]:
    written = []
    for language in LANGUAGES:
        for name, path in PAGES.items():
            for width in WIDTHS:
                emulate_width(driver, width)
                driver.get(f"{url}/language/{language}?next={path}")
                if name.endswith("-errors"):
                    driver.find_element("css selector", "main form [type=submit]").click()
                    driver.find_element("css selector", ".error-summary")
                target = output / f"{name}-{language}-{width}.png"
                target.write_bytes(full_page_png(driver, width))
                written.append(target)
    return written


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else ROOT / "screenshots"
    if missing := missing_browser():
        print(f"Chromium is not installed ({', '.join(missing)}): run `make browser`.")
        return 1
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="remote-groups-screenshots-") as workdir:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/demo.sqlite",
                "MAIL_DIR": f"{workdir}/mail",
                "RUN_SCHEDULER": False,
            }
        )
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(directory=str(ROOT / "migrations"))
            load_demo()
            db.session.commit()
        driver = start_chromium()
        driver.implicitly_wait(10)  # for the page that comes after sending the form
        try:
            with serve(app) as url:
                written = take(driver, url, output)
        finally:
            quit_chromium(driver)
            with app.app_context():
                db.engine.dispose()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
