"""A mixed load against gunicorn on PostgreSQL for 60 seconds: throughput, latency, errors.

The database is ``BENCH_MIXED_DATABASE_URL`` (default ``postgresql+psycopg://postgres@
127.0.0.1:5432/bench_mixed``), created when missing; its ``public`` schema is dropped and
rebuilt by the migrations, and the demo data is loaded: the open group ``avoin-etaryhma``
with a year of weekly sessions and a public feed, and the closed course
``hyvinvointikurssi`` with its application window open (its capacity raised, so every
application is stored as submitted). ``gunicorn -w 4`` (sync workers) serves the app with the
per-address rate limits lifted, since every client is 127.0.0.1.

For ``BENCH_MIXED_SECONDS`` (default 60) seconds, two kinds of client run at once:

* ``CLIENTS`` threads in a closed loop, each sending one request at a time with no pause,
  every request picked at random (seeded, so every run sends the same sequence) from a
  weighted mix: public pages (``MIX_PAGES``), the open group's public feed, in Finnish and in
  Swedish, with and without ``If-None-Match`` (the ETag is the one the thread last received
  for that feed), and the JSON API (``MIX_API``);
* one applicant thread that submits exactly one application a second to
  ``/groups/hyvinvointikurssi/apply`` as a browser does: it loads the form, takes the CSRF
  token and the session cookie, and posts the form with its own email address
  (``bench-mixed-N@example.org``), expecting a 302 to ``/groups/<slug>/apply/received``.

Every request opens its own connection: gunicorn's sync workers answer with
``Connection: close`` and close each connection after one answer, so a keep-alive client
would reconnect anyway, and a fresh connection per request is what the server sees in
production behind a proxy that does not pool upstream connections.

Latency is one request's, from opening its connection to reading the whole answer. With more
clients than workers, it includes the time a request waits in gunicorn's listen backlog: the
figures are those of a server kept busy, not of an idle one. An error is a request that
raised (refused, reset, timed out) or answered a status outside the expected ones: 200 or
304 for a GET, 302 to the received page for an application. The requests per second count
every request of every client over the whole load, from its start until the last answer.
Afterwards the database is counted: each submitted application must be stored, and the
server's log must hold no record at level ERROR or above (a 503 while PostgreSQL is away
counts as an error too). Client and server share the machine's CPUs, so the figures are those
of the whole machine under this load.
"""

from __future__ import annotations

import http.client
import itertools
import math
import os
import random
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from bench.bench_applications import (
    CSRF_PATTERN,
    Unreachable,
    ensure_database,
    is_received_page,
    percentile,
    prepare_database,
    row,
)
from bench.server import NO_RATE_LIMITS, gunicorn

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_mixed"
DEFAULT_SECONDS = 60.0
CLIENTS = 8
WORKERS = 4
REQUEST_TIMEOUT_SECONDS = 30.0
COURSE_SLUG = "hyvinvointikurssi"
OPEN_SLUG = "avoin-etaryhma"
FORM_PATH = f"/groups/{COURSE_SLUG}/apply"
EMAIL_PREFIX = "bench-mixed-"
HOME_REGIONS = ("lansi-uusimaa", "siun-sote", "varha")
COURSE_CAPACITY = 100_000

PAGES = "public pages"
FEED = "group feed"
FEED_CONDITIONAL = "group feed with If-None-Match"
API = "API"
FORM = "application form (GET)"
APPLY = "application (POST)"
KINDS = (PAGES, FEED, FEED_CONDITIONAL, API, FORM, APPLY)

FEED_PATHS = (f"/calendar/groups/{OPEN_SLUG}.ics", f"/calendar/groups/{OPEN_SLUG}.ics?lang=sv")
MIX_PAGES = (
    ("/", 8),
    ("/groups", 8),
    (f"/groups/{OPEN_SLUG}", 7),
    (f"/groups/{COURSE_SLUG}", 7),
    (f"/groups/{OPEN_SLUG}?lang=sv", 5),
)
MIX_FEEDS = ((FEED_PATHS[0], 14), (FEED_PATHS[1], 6))
MIX_API = (
    ("/api/v1/groups", 8),
    (f"/api/v1/groups/{OPEN_SLUG}/sessions", 7),
    (f"/api/v1/groups/{COURSE_SLUG}/sessions", 4),
    ("/api/v1/regions", 6),
)
# A log record's level as a word of its own: gunicorn's "[ERROR]", the app's text lines
# ("... ERROR remote_groups.errors: ..."), JSON lines ("level": "ERROR"), logging's default.
SERVER_ERROR_RECORD = re.compile(r"(?<![\w.])(?:ERROR|CRITICAL)(?![\w.])")
ROUTINE_RECORD = re.compile(r"(?<![\w.])(?:INFO|DEBUG)(?![\w.])")


@dataclass(frozen=True)
class Target:
    """One entry of the weighted mix."""

    kind: str
    path: str
    weight: int


MIX = (
    *(Target(PAGES, path, weight) for path, weight in MIX_PAGES),
    *(Target(FEED, path, weight) for path, weight in MIX_FEEDS),
    *(Target(FEED_CONDITIONAL, path, weight) for path, weight in MIX_FEEDS),
    *(Target(API, path, weight) for path, weight in MIX_API),
)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


@dataclass(frozen=True)
class Sample:
    """One request: its kind, its latency, and what went wrong, if anything."""

    kind: str
    seconds: float
    status: int | None
    error: str | None


@dataclass
class Applicant:
    """What the applicant thread did: the samples of its requests and the applications."""

    samples: list[Sample] = field(default_factory=list)
    submitted: int = 0
    accepted: int = 0


def exchange(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> Answer:
    """One request on its own connection, the whole answer read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.msg, response.read())
    finally:
        connection.close()


def timed(
    kind: str,
    expected: tuple[int, ...],
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[Sample, Answer | None]:
    """``exchange`` with its latency, as a sample that says whether it went wrong."""
    started = time.perf_counter()
    try:
        answer = exchange(port, method, path, headers, body)
    except (OSError, http.client.HTTPException) as error:
        seconds = time.perf_counter() - started
        return Sample(kind, seconds, None, f"{method} {path}: {type(error).__name__}"), None
    seconds = time.perf_counter() - started
    error = None if answer.status in expected else f"{method} {path}: status {answer.status}"
    return Sample(kind, seconds, answer.status, error), answer


def browse(port: int, index: int, deadline: float, etags: dict[str, str]) -> list[Sample]:
    """One client thread: requests from the mix, one at a time, until ``deadline``."""
    chooser = random.Random(index)
    weights = [target.weight for target in MIX]
    etags = dict(etags)
    samples: list[Sample] = []
    while time.perf_counter() < deadline:
        target = chooser.choices(MIX, weights)[0]
        headers = {}
        if target.kind == FEED_CONDITIONAL:
            headers["If-None-Match"] = etags[target.path]
        sample, answer = timed(target.kind, (200, 304), port, "GET", target.path, headers)
        samples.append(sample)
        if answer is not None and answer.status == 200 and target.kind in (FEED, FEED_CONDITIONAL):
            etags[target.path] = answer.headers.get("ETag", etags[target.path])
    return samples


def email_of(number: int) -> str:
    return f"{EMAIL_PREFIX}{number}@example.org"


def apply_once(port: int, number: int, applicant: Applicant) -> None:
    """Load the form and post one application, as a browser does."""
    sample, answer = timed(FORM, (200,), port, "GET", FORM_PATH)
    token = cookie = None
    if answer is not None and answer.status == 200:
        token = CSRF_PATTERN.search(answer.body.decode())
        cookies = SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
        if token is None or not cookie:
            missing = "form: csrf token or cookie missing"
            sample = Sample(FORM, sample.seconds, sample.status, missing)
    applicant.samples.append(sample)
    if token is None or not cookie:
        return
    form = {
        "csrf_token": token.group(1),
        "name": f"Bench Mixed {number}",
        "email": email_of(number),
        "phone": "",
        "home_region": HOME_REGIONS[number % len(HOME_REGIONS)],
        "language": "fi",
        "needs": "",
        "motivation": "Haluan oppia hyvinvoinnista ja tavata muita.",
        "consent": "y",
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    applicant.submitted += 1
    sample, answer = timed(APPLY, (302,), port, "POST", FORM_PATH, headers, urlencode(form))
    if answer is not None and answer.status == 302:
        if is_received_page(answer.headers.get("Location")):
            applicant.accepted += 1
        else:
            location = answer.headers.get("Location")
            sample = Sample(APPLY, sample.seconds, 302, f"POST: 302 to {location}")
    applicant.samples.append(sample)


def apply_every_second(port: int, started: float, deadline: float, applicant: Applicant) -> None:
    """One application a second, on the second from ``started``; a slow answer is caught up
    at once, and none starts at or after ``deadline``."""
    for number in itertools.count():
        due = started + number
        if due >= deadline:
            return
        time.sleep(max(0.0, due - time.perf_counter()))
        if time.perf_counter() >= deadline:
            return
        apply_once(port, number, applicant)


def load(port: int, seconds: float, etags: dict[str, str]) -> tuple[list[Sample], Applicant, float]:
    """Every sample of the browsing clients and the applicant, and the wall time from the
    start until the last answer."""
    results: list[list[Sample]] = [[] for _ in range(CLIENTS)]
    applicant = Applicant()
    started = time.perf_counter()
    deadline = started + seconds

    def client(index: int) -> None:
        results[index] = browse(port, index, deadline, etags)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    threads.append(
        threading.Thread(
            target=apply_every_second, args=(port, started, deadline, applicant), daemon=True
        )
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 3 * REQUEST_TIMEOUT_SECONDS)
    wall = time.perf_counter() - started
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("a client thread did not finish")
    return [s for samples in results for s in samples] + applicant.samples, applicant, wall


def first_answers(port: int) -> dict[str, str]:
    """Every path of the mix once, before the clock starts: each must answer 200. Returns
    the feeds' ETags, for the first conditional requests."""
    etags: dict[str, str] = {}
    for path in sorted({target.path for target in MIX} | {FORM_PATH}):
        answer = exchange(port, "GET", path)
        if answer.status != 200:
            raise RuntimeError(f"GET {path} answered {answer.status} before the load")
        if path in FEED_PATHS:
            etags[path] = answer.headers["ETag"]
    return etags


def stored_applications(app, course_id: int) -> tuple[int, int]:
    """The benchmark's applications in the course, and their distinct email addresses."""
    from sqlalchemy import distinct, func, select

    from remote_groups.applications.models import Application
    from remote_groups.extensions import db

    ours = (Application.group_id == course_id, Application.email.like(f"{EMAIL_PREFIX}%"))
    with app.app_context():
        applications = db.session.scalar(select(func.count(Application.id)).where(*ours))
        emails = db.session.scalar(select(func.count(distinct(Application.email))).where(*ours))
        db.session.remove()
        db.engine.dispose()
    return applications, emails


def failure_summary(samples: list[Sample], log_text: str) -> str:
    """The distinct ways requests failed, and the server log's last lines above INFO (the
    app logs every request at INFO), for stderr."""
    reasons: dict[str, int] = {}
    for sample in samples:
        if sample.error:
            reasons[sample.error] = reasons.get(sample.error, 0) + 1
    lines = [f"{count} × {reason}" for reason, count in sorted(reasons.items())]
    notable = "\n".join(line for line in log_text.splitlines() if not ROUTINE_RECORD.search(line))
    return "\n".join([*lines, "--- gunicorn log above INFO (tail) ---", notable[-6000:]])


def milliseconds(samples: list[Sample], fraction: float) -> float:
    return percentile([s.seconds * 1000 for s in samples], fraction)


def run() -> list[dict]:
    from remote_groups import create_app

    url = os.environ.get("BENCH_MIXED_DATABASE_URL", DEFAULT_DATABASE_URL)
    seconds = float(os.environ.get("BENCH_MIXED_SECONDS", DEFAULT_SECONDS))
    try:
        ensure_database(url)
    except Unreachable as error:
        return [row(f"mixed load: {error}", math.nan, "", "a reachable PostgreSQL", False)]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    course_id, _ = prepare_database(app, capacity=COURSE_CAPACITY)
    with tempfile.TemporaryDirectory(prefix="bench-mixed-") as directory:
        log = Path(directory) / "gunicorn.log"
        with gunicorn(url, workers=WORKERS, log=log, env=NO_RATE_LIMITS) as port:
            try:
                etags = first_answers(port)
                log_before = log.stat().st_size
                samples, applicant, wall = load(port, seconds, etags)
            except Exception:
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
                raise
            log_text = log.read_bytes()[log_before:].decode(errors="replace")
    server_errors = sum(bool(SERVER_ERROR_RECORD.search(line)) for line in log_text.splitlines())
    errors = sum(sample.error is not None for sample in samples)
    if errors or server_errors:
        print(failure_summary(samples, log_text), file=sys.stderr)
    stored, emails = stored_applications(app, course_id)
    submitted = applicant.submitted
    not_modified = sum(s.kind == FEED_CONDITIONAL and s.status == 304 for s in samples)
    conditional = sum(s.kind == FEED_CONDITIONAL for s in samples)
    label = (
        f"mixed load for {seconds:g} s, gunicorn -w {WORKERS}, PostgreSQL, {CLIENTS} clients "
        "(pages, feeds, API) + one application a second"
    )
    rows = [
        row(f"{label}: requests", len(samples), "", "", None),
        row("mixed load: requests per second", len(samples) / wall, "req/s", "report", None),
        row("mixed load: latency p50", milliseconds(samples, 0.50), "ms", "report", None),
        row("mixed load: latency p95", milliseconds(samples, 0.95), "ms", "report", None),
        row("mixed load: latency p99", milliseconds(samples, 0.99), "ms", "report", None),
        row(
            "mixed load: errors (exceptions, or a status other than 200/304 for a GET, "
            "302 to the received page for an application)",
            errors,
            "",
            "= 0",
            errors == 0,
        ),
        row(
            "mixed load: server log records at level ERROR or above",
            server_errors,
            "",
            "= 0",
            server_errors == 0,
        ),
        row("mixed load: applications submitted", submitted, "", "", None),
        row(
            "mixed load: applications answered 302 to the received page",
            applicant.accepted,
            "",
            f"= {submitted} (submitted)",
            applicant.accepted == submitted,
        ),
        row(
            "mixed load: applications stored (none lost, none twice)",
            stored,
            "",
            f"= {submitted} (submitted)",
            stored == submitted and emails == stored,
        ),
        row(
            f"mixed load: If-None-Match feed requests answered 304 (of {conditional:,})",
            not_modified,
            "",
            "",
            None,
        ),
    ]
    for kind in KINDS:
        ours = [s for s in samples if s.kind == kind]
        rows.append(
            row(
                f"mixed load: {kind}, {len(ours):,} requests: latency p95 "
                f"(p50 {milliseconds(ours, 0.50):.1f} ms)",
                milliseconds(ours, 0.95),
                "ms",
                "",
                None,
            )
        )
    return rows
