"""Debian's headless Chromium driven by Selenium, and the service served on a loopback port:
shared by the browser tests (tests/browser/) and `make screenshots`.

Nothing here downloads a browser or a driver: both are given by path (Debian's `chromium` and
`chromium-driver`, installed by `make browser`) and Selenium Manager is told to stay offline.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def missing_browser() -> list[str]:
    """The paths of Chromium and its driver that are not installed."""
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]


def start_chromium(width: int = 1280, height: int = 900) -> Any:
    """A headless Chromium with a fresh profile that stays off the network except for the
    pages it is sent to. Stop it with `quit_chromium`."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never look anything up
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="remote-groups-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    driver.profile_dir = profile
    return driver


def quit_chromium(driver: Any) -> None:
    driver.quit()
    shutil.rmtree(driver.profile_dir, ignore_errors=True)


def emulate_width(driver: Any, width: int, height: int = 800) -> None:
    """Lay pages out exactly ``width`` CSS pixels wide: 320 is a small phone, and also what
    1280 pixels become at 400 % zoom."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
