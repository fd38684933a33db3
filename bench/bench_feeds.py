"""Calendar feed serving under concurrent load: a 52-session group feed against gunicorn.

A fresh SQLite database in a temporary directory gets the migrations and one open group with
52 weekly sessions. ``gunicorn -w 2`` serves the app on a free loopback port, and a bounded
pool of client threads (one request per connection: gunicorn's sync workers close after each
answer) drives three endpoints, taking turns in short rounds:

* ``/healthz``, the trivial endpoint of the same app (one ``SELECT 1``);
* the group feed without conditional headers (a full 200 answer);
* the group feed with ``If-None-Match`` (a 304 answer).

The figures are requests per second and the two feed rates as ratios to ``/healthz`` in the
same run, so the machine's speed cancels out. Client and server share the machine's CPUs,
which narrows the differences between endpoints; the ratios are still what the targets are
about: serving a feed must cost about as little as the cheapest request the app answers.
"""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_clock
from pathlib import Path

from bench.server import ROOT, fetch, gunicorn

SESSIONS = 52
GROUP_SLUG = "bench-group"
FEED_PATH = f"/calendar/groups/{GROUP_SLUG}.ics"
CLIENTS = 8
WARMUP_SECONDS = 1.0
ROUNDS = 4
SECONDS_PER_TURN = 1.5
FULL_TARGET = 0.5
NOT_MODIFIED_TARGET = 0.8


def prepare_database(url: str) -> None:
    """Migrations and one open group of 52 weekly sessions, all inside the feed's window."""
    from flask_migrate import upgrade

    from remote_groups import create_app
    from remote_groups.extensions import db
    from remote_groups.groups import service as group_service
    from remote_groups.groups.models import GroupKind, RotationPolicy
    from remote_groups.regions.models import Region

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        regions = []
        for slug in ("lansi-uusimaa", "siun-sote", "varha"):
            region = Region(
                slug=slug,
                name_fi=f"{slug} fi",
                name_sv=f"{slug} sv",
                name_en=f"{slug} en",
                contact_email=f"info@{slug}.example.org",
            )
            db.session.add(region)
            regions.append(region)
        db.session.flush()
        start = date.today() + timedelta(days=1)
        values = {
            "slug": GROUP_SLUG,
            "kind": GroupKind.open,
            "language": "fi",
            "title_fi": "Etäryhmä, kaikille; tervetuloa",
            "title_sv": "Distansgrupp",
            "description_fi": "Viikoittainen etäryhmä.\nKaikki ovat tervetulleita.",
            "meeting_url": "https://meet.example.org/bench",
            "weekday": start.weekday(),
            "start_time": wall_clock(13, 0),
            "duration_minutes": 90,
            "term_start": start,
            "term_end": start + timedelta(weeks=SESSIONS - 1),
            "skip_holidays": False,
            "rotation_policy": RotationPolicy.round_robin,
        }
        group = group_service.save_group(None, values, regions, regions[0], datetime.now(UTC))
        db.session.commit()
        if len(group.sessions) != SESSIONS:
            raise RuntimeError(f"expected {SESSIONS} sessions, got {len(group.sessions)}")
    with app.app_context():
        db.engine.dispose()


def drive(
    port: int, path: str, headers: dict[str, str], expected: int, seconds: float
) -> tuple[int, float]:
    """Requests completed by ``CLIENTS`` threads (each one request at a time) in about
    ``seconds``, and the seconds it took."""
    stop = threading.Event()
    counts = [0] * CLIENTS
    failures: list[str] = []

    def client(index: int) -> None:
        while not stop.is_set():
            status, _, _ = fetch(port, path, headers)
            if status != expected:
                failures.append(f"{path}: {status}, expected {expected}")
                return
            counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(failures[0])
    return sum(counts), elapsed


def rates(port: int, endpoints: list[tuple[str, dict[str, str], int]]) -> list[float]:
    """Requests per second of each endpoint. The endpoints take turns in short rounds, so a
    change in the machine's other load during the run affects them all alike."""
    for path, headers, expected in endpoints:
        drive(port, path, headers, expected, WARMUP_SECONDS)
    done = [0] * len(endpoints)
    spent = [0.0] * len(endpoints)
    for _ in range(ROUNDS):
        for index, (path, headers, expected) in enumerate(endpoints):
            count, elapsed = drive(port, path, headers, expected, SECONDS_PER_TURN)
            done[index] += count
            spent[index] += elapsed
    return [count / elapsed for count, elapsed in zip(done, spent, strict=True)]


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-feeds-") as directory:
        database = f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        prepare_database(database)
        with gunicorn(database, workers=2, log=Path(directory) / "gunicorn.log") as port:
            status, headers, body = fetch(port, FEED_PATH)
            if status != 200 or body.count(b"BEGIN:VEVENT") != SESSIONS:
                raise RuntimeError(f"the feed answered {status} with the wrong sessions")
            conditional = {"If-None-Match": headers["ETag"]}
            endpoints = [
                ("/healthz", {}, 200),
                (FEED_PATH, {}, 200),
                (FEED_PATH, conditional, 304),
            ]
            trivial, full, not_modified = rates(port, endpoints)
    label = f"{SESSIONS}-session group feed, gunicorn -w 2, {CLIENTS} clients"
    return [
        {
            "figure": "trivial endpoint (/healthz), requests per second",
            "value": trivial,
            "unit": "req/s",
            "target": "",
            "ok": None,
        },
        {
            "figure": f"{label}: full 200 answer ({len(body):,} bytes), requests per second",
            "value": full,
            "unit": "req/s",
            "target": "",
            "ok": None,
        },
        {
            "figure": f"{label}: 304 answer (If-None-Match), requests per second",
            "value": not_modified,
            "unit": "req/s",
            "target": "",
            "ok": None,
        },
        {
            "figure": "full feed rate / trivial endpoint rate",
            "value": full / trivial,
            "unit": "×",
            "target": f"≥ {FULL_TARGET}",
            "ok": full / trivial >= FULL_TARGET,
        },
        {
            "figure": "304 rate / trivial endpoint rate",
            "value": not_modified / trivial,
            "unit": "×",
            "target": f"≥ {NOT_MODIFIED_TARGET}",
            "ok": not_modified / trivial >= NOT_MODIFIED_TARGET,
        },
    ]
