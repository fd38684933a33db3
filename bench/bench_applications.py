"""A burst of applications to one course: 300 clients submit at once, against gunicorn on
PostgreSQL. None may be lost and none duplicated; the latency is reported.

The database is ``BENCH_DATABASE_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/
bench``), created when missing; its ``public`` schema is dropped and rebuilt by the migrations,
so every run starts clean. The demo data gives the closed course ``hyvinvointikurssi`` with its
application window open. ``gunicorn -w 4`` serves the app with the per-address rate limits
lifted (every client is 127.0.0.1), and each of ``CLIENTS`` threads, on its own connection and
with its own cookie, loads the application form (for the session cookie and the CSRF token),
waits at a barrier until every client has its form, and then posts one application with its
own email address. A submission succeeds with a 302 to ``/groups/<slug>/apply/received``
(the same answer for a new application and a repeated one; the status link is in the mail).

Afterwards the database is counted: one stored application per client, no email twice, and
one ``application_received`` message in the outbox per application. Latency is one POST's,
from sending it to reading the whole answer, so it includes the time spent queued in
gunicorn's listen backlog behind the rest of the burst: with sync workers the server answers
``workers`` requests at a time. Client and server share the machine's CPUs.
"""

from __future__ import annotations

import http.client
import math
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.server import NO_RATE_LIMITS, ROOT, gunicorn

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
COURSE_SLUG = "hyvinvointikurssi"
FORM_PATH = f"/groups/{COURSE_SLUG}/apply"
CLIENTS = 300
WORKERS = 4
HOME_REGION = "lansi-uusimaa"
CLIENT_TIMEOUT_SECONDS = 60.0
BARRIER_TIMEOUT_SECONDS = 60.0
RECEIVED_PATH = f"/groups/{COURSE_SLUG}/apply/received"
CSRF_PATTERN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
RECEIPT_KIND = "application_received"


def email_of(client: int) -> str:
    return f"bench-{client}@example.org"


@dataclass
class Submission:
    """What one client saw. ``error`` names the first thing that went wrong, if anything."""

    client: int
    sent: bool = False
    status: int | None = None
    location: str | None = None
    seconds: float | None = None
    error: str | None = None


class Unreachable(RuntimeError):
    """The PostgreSQL server does not answer."""


def ensure_database(url: str) -> None:
    """Create the database of ``url`` when the server has none of that name."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    target = make_url(url)
    if not target.drivername.startswith("postgresql"):
        raise ValueError(f"the benchmark needs PostgreSQL, not {target.drivername}")
    engine = create_engine(
        target.set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                quoted = connection.dialect.identifier_preparer.quote(target.database)
                connection.execute(text(f"CREATE DATABASE {quoted}"))
    except OperationalError as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        raise Unreachable(
            f"PostgreSQL at {target.render_as_string()} is unreachable: {reason}"
        ) from error
    finally:
        engine.dispose()


def prepare_database(app, capacity: int = CLIENTS) -> tuple[int, int]:
    """A clean schema, the migrations and the demo data, the course's capacity raised to
    ``capacity``. Returns the course's id and how many applications it has before the burst
    (the demo's applicants)."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from remote_groups.applications.models import Application
    from remote_groups.demo import load_demo
    from remote_groups.extensions import db
    from remote_groups.groups.models import RemoteGroup

    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        load_demo()
        course = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == COURSE_SLUG))
        course.capacity = capacity
        db.session.commit()
        applications = db.session.scalar(
            select(func.count(Application.id)).where(Application.group_id == course.id)
        )
        course_id = course.id
        db.session.remove()
        db.engine.dispose()
    return course_id, applications


def submit(port: int, client: int, barrier: threading.Barrier) -> Submission:
    """Load the form, wait for every other client, post the application."""
    result = Submission(client)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_SECONDS)
    form: dict[str, str] | None = None
    cookie = ""
    try:
        try:
            connection.request("GET", FORM_PATH)
            response = connection.getresponse()
            page = response.read().decode()
            cookies = SimpleCookie()
            for header in response.msg.get_all("Set-Cookie") or []:
                cookies.load(header)
            cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
            token = CSRF_PATTERN.search(page)
            if response.status != 200 or token is None or not cookie:
                result.error = f"form: {response.status}, csrf token or cookie missing"
            else:
                form = {
                    "csrf_token": token.group(1),
                    "name": f"Bench Applicant {client}",
                    "email": email_of(client),
                    "phone": "",
                    "home_region": HOME_REGION,
                    "language": "fi",
                    "needs": "",
                    "motivation": "Haluan oppia hyvinvoinnista ja tavata muita.",
                    "consent": "y",
                }
        except OSError as error:
            result.error = f"form: {type(error).__name__}: {error}"
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT_SECONDS)
        except threading.BrokenBarrierError:
            result.error = result.error or "the barrier broke: not every client got its form"
            return result
        if form is None:
            return result
        body = urlencode(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        started = time.perf_counter()
        try:
            result.sent = True
            connection.request("POST", FORM_PATH, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            result.seconds = time.perf_counter() - started
            result.status = response.status
            result.location = response.getheader("Location")
        except OSError as error:
            result.seconds = time.perf_counter() - started
            result.error = f"submit: {type(error).__name__}: {error}"
        return result
    finally:
        connection.close()


def burst(port: int) -> tuple[list[Submission], float]:
    """Every client's submission, and the seconds from the barrier's release to the last
    answer."""
    released: list[float] = []
    barrier = threading.Barrier(CLIENTS, action=lambda: released.append(time.perf_counter()))
    results: list[Submission | None] = [None] * CLIENTS

    def client(index: int) -> None:
        results[index] = submit(port, index, barrier)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BARRIER_TIMEOUT_SECONDS + CLIENT_TIMEOUT_SECONDS + 10)
    finished = time.perf_counter()
    wall = finished - released[0] if released else math.nan
    return [
        r or Submission(i, error="the client did not finish") for i, r in enumerate(results)
    ], wall


def stored(app, course_id: int) -> dict[str, object]:
    """What the database holds after the burst, counting only the benchmark's applicants."""
    from sqlalchemy import distinct, func, select

    from remote_groups.applications.models import Application
    from remote_groups.extensions import db
    from remote_groups.outbox.models import OutboxMessage

    ours = Application.email.like("bench-%@example.org")
    with app.app_context():
        counts = {
            "applications": db.session.scalar(
                select(func.count(Application.id)).where(Application.group_id == course_id, ours)
            ),
            "course_total": db.session.scalar(
                select(func.count(Application.id)).where(Application.group_id == course_id)
            ),
            "emails": db.session.scalar(
                select(func.count(distinct(Application.email))).where(
                    Application.group_id == course_id, ours
                )
            ),
            "own_links": sum(
                f"/applications/{token}" in text
                for token, text in db.session.execute(
                    select(Application.status_token, OutboxMessage.text_body)
                    .join(OutboxMessage, OutboxMessage.recipient == Application.email)
                    .where(
                        Application.group_id == course_id,
                        ours,
                        OutboxMessage.kind == RECEIPT_KIND,
                    )
                )
            ),
            "receipts": db.session.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.kind == RECEIPT_KIND,
                    OutboxMessage.recipient.like("bench-%@example.org"),
                )
            ),
            "receipt_recipients": db.session.scalar(
                select(func.count(distinct(OutboxMessage.recipient))).where(
                    OutboxMessage.kind == RECEIPT_KIND,
                    OutboxMessage.recipient.like("bench-%@example.org"),
                )
            ),
        }
        db.session.remove()
        db.engine.dispose()
    return counts


def is_received_page(location: str | None) -> bool:
    """A redirect to the received page (relative or absolute)."""
    return urlsplit(location or "").path == RECEIVED_PATH


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with ``fraction`` of them at or below."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * fraction)) - 1]


def row(figure: str, value: float, unit: str, target: str, ok: bool | None) -> dict:
    return {"figure": figure, "value": value, "unit": unit, "target": target, "ok": ok}


def failure_summary(submissions: list[Submission], log: Path) -> str:
    """The distinct ways submissions failed, and the gunicorn log's tail, for stderr."""
    reasons: dict[str, int] = {}
    for s in submissions:
        if s.error or s.status != 302:
            reason = s.error or f"status {s.status}"
            reasons[reason] = reasons.get(reason, 0) + 1
    lines = [f"{count} × {reason}" for reason, count in sorted(reasons.items())]
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
    return "\n".join(lines + ["--- gunicorn log (tail) ---", tail])


def run() -> list[dict]:
    from remote_groups import create_app

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    try:
        ensure_database(url)
    except Unreachable as error:
        return [row(f"applications burst: {error}", math.nan, "", "a reachable PostgreSQL", False)]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    course_id, demo_applications = prepare_database(app)
    with tempfile.TemporaryDirectory(prefix="bench-applications-") as directory:
        log = Path(directory) / "gunicorn.log"
        with gunicorn(url, workers=WORKERS, log=log, env=NO_RATE_LIMITS) as port:
            submissions, wall = burst(port)
        accepted = [s for s in submissions if s.status == 302 and is_received_page(s.location)]
        if len(accepted) != CLIENTS:
            print(failure_summary(submissions, log), file=sys.stderr)
    counts = stored(app, course_id)
    own: int = counts["own_links"]
    latencies_ms = [s.seconds * 1000 for s in submissions if s.status is not None]
    applications = counts["applications"]
    duplicates = applications - counts["emails"]
    duplicate_receipts = counts["receipts"] - counts["receipt_recipients"]
    label = f"{CLIENTS} simultaneous applications to one course, gunicorn -w {WORKERS}, PostgreSQL"
    return [
        row(f"{label}: submissions sent", sum(s.sent for s in submissions), "", "", None),
        row(
            "accepted (302 to the received page)",
            len(accepted),
            "",
            f"= {CLIENTS}",
            len(accepted) == CLIENTS,
        ),
        row(
            "receipts whose status link is that applicant's own application",
            own,
            "",
            f"= {CLIENTS}",
            own == CLIENTS,
        ),
        row(
            "applications stored (none lost)",
            applications,
            "",
            f"= {CLIENTS}",
            applications == CLIENTS and counts["course_total"] == CLIENTS + demo_applications,
        ),
        row("applications stored twice (same email)", duplicates, "", "= 0", duplicates == 0),
        row(
            f"receipts queued ({RECEIPT_KIND} in the outbox)",
            counts["receipts"],
            "",
            f"= {CLIENTS}",
            counts["receipts"] == CLIENTS and duplicate_receipts == 0,
        ),
        row("submission latency p50", percentile(latencies_ms, 0.50), "ms", "report", None),
        row("submission latency p95", percentile(latencies_ms, 0.95), "ms", "report", None),
        row("submission latency max", max(latencies_ms, default=math.nan), "ms", "report", None),
        row("wall time, barrier to the last answer", wall, "s", "report", None),
    ]
