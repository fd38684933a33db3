"""PostgreSQL restarted during a burst of requests against gunicorn, as production runs it.

While the server is down, pages answer 503 (never a 500 or a dropped connection); once it is
back, every request succeeds again without restarting gunicorn; no application a visitor was
told was received is lost.
"""

from __future__ import annotations

import http.client
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from remote_groups.applications.models import Application
from remote_groups.extensions import db
from tests.conftest import make_course_taking_applications, make_group, make_region
from tests.fault.conftest import ROOT, TIMEOUT, flask_env, wait_for

pytestmark = [pytest.mark.fault, pytest.mark.real_clock]

CLIENTS = 4
BEFORE_SECONDS = 2.0
DOWN_SECONDS = 3.0
AFTER_SECONDS = 4.0
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def cluster_command(action: str) -> list[str]:
    """pg_ctlcluster for the local server (Debian's postgresql-common), run as root."""
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action]


def can_restart_postgresql(app: Flask) -> str | None:
    """Why this machine cannot restart the test database's server, or None if it can."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        return "the database is SQLite: the restart is tested on PostgreSQL"
    if urllib.parse.urlsplit(url.replace("+psycopg", "")).hostname not in (
        "127.0.0.1",
        "localhost",
    ):
        return "the PostgreSQL server is not on this machine"
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        return "pg_ctlcluster (postgresql-common) is not installed"
    if os.geteuid() != 0:
        return "restarting the server needs root"
    return None


@pytest.fixture
def restartable(app: Flask) -> None:
    reason = can_restart_postgresql(app)
    if reason is None:
        return
    if os.environ.get("CI") == "true" and app.config["SQLALCHEMY_DATABASE_URI"].startswith("post"):
        pytest.fail(f"CI=true requires the PostgreSQL restart test, but {reason}")
    pytest.skip(reason)


@pytest.fixture
def site(app: Flask) -> None:
    """An open group (pages, feed) and a closed course taking applications."""
    with app.app_context():
        regions = [make_region(slug) for slug in ("lansi-uusimaa", "varha")]
        db.session.flush()
        make_group(regions, now=datetime.now(UTC), slug="open-group")
        make_course_taking_applications(regions, capacity=1000)
        db.session.commit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


@pytest.fixture
def gunicorn(app: Flask, site: None, tmp_path: Path):
    """gunicorn with the production settings file and two workers; yields its port."""
    port = free_port()
    env = flask_env(app)
    env.update(
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        REMOTE_GROUPS_RATE_LIMIT_APPLICATIONS="[1000000, 60]",
    )
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [*command, "remote_groups:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=log
    )

    def healthy() -> bool:
        try:
            return get(port, "/healthz").status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, "gunicorn to answer /healthz", server)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=TIMEOUT)
        log.close()


@dataclass
class Outcome:
    kind: str
    started: float
    ended: float
    status: int | str  # an HTTP status, or the name of the exception
    email: str | None = None


def apply(port: int, email: str) -> int:
    """Fill in the application form like a browser: the form, its CSRF token and cookie."""
    form = get(port, "/groups/kurssi/apply")
    if form.status != 200:
        return form.status
    cookie = form.getheader("Set-Cookie", "").split(";", 1)[0]
    token = CSRF.search(form.body.decode()).group(1)  # type: ignore[attr-defined]
    body = urllib.parse.urlencode(
        {
            "csrf_token": token,
            "name": "Kuormitus Testi",
            "email": email,
            "home_region": "varha",
            "language": "fi",
            "motivation": "Haluan mukaan.",
            "consent": "y",
        }
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    connection.request("POST", "/groups/kurssi/apply", body=body, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def burst(port: int, stop: threading.Event, outcomes: list[Outcome]) -> list[threading.Thread]:
    numbers = itertools.count()
    kinds = itertools.cycle(("page", "api", "feed", "apply"))
    lock = threading.Lock()

    def client() -> None:
        while not stop.is_set():
            kind = next(kinds)
            email = f"burst-{next(numbers)}@example.org" if kind == "apply" else None
            started = time.monotonic()
            try:
                if kind == "apply":
                    status: int | str = apply(port, email)
                else:
                    path = {
                        "page": "/groups/open-group",
                        "api": "/api/v1/groups",
                        "feed": "/calendar/groups/open-group.ics",
                    }[kind]
                    status = get(port, path).status
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__
            with lock:
                outcomes.append(Outcome(kind, started, time.monotonic(), status, email))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return threads


SUCCESS = {"page": 200, "api": 200, "feed": 200, "apply": 302}


def test_postgresql_restarted_during_a_burst(app, restartable, gunicorn):
    outcomes: list[Outcome] = []
    stop = threading.Event()
    threads = burst(gunicorn, stop, outcomes)
    try:
        time.sleep(BEFORE_SECONDS)
        down_from = time.monotonic()
        subprocess.run(cluster_command("stop"), check=True, timeout=TIMEOUT)
        time.sleep(DOWN_SECONDS)
        subprocess.run(cluster_command("start"), check=True, timeout=TIMEOUT)
        up_from = time.monotonic()
        time.sleep(AFTER_SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=TIMEOUT)
        subprocess.run(cluster_command("start"), timeout=TIMEOUT)  # whatever happened above

    def failed(outcome: Outcome) -> bool:
        return outcome.status != SUCCESS[outcome.kind]

    before = [o for o in outcomes if o.ended < down_from]
    during = [o for o in outcomes if o.started < up_from and o.ended >= down_from]
    after = [o for o in outcomes if o.started >= up_from]
    assert before and after, "the burst ran before and after the restart"
    assert [o for o in before if failed(o)] == []
    assert [o for o in after if failed(o)] == [], "every request after the restart succeeds"
    errors = [o for o in during if failed(o)]
    assert errors, "the restart was felt: some requests met the database away"
    assert {o.status for o in errors} == {503}, "while it is down: 503 pages, never a crash"

    received = {o.email for o in outcomes if o.kind == "apply" and o.status == 302}
    sent = {o.email for o in outcomes if o.kind == "apply"}
    with app.app_context():
        stored = set(db.session.scalars(select(Application.email)))
    assert received <= stored, "no application that was answered 'received' is lost"
    assert stored <= sent
    assert get(gunicorn, "/healthz").status == 200
