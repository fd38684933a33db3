"""Snapshots of what the demo shows and sends: the safety net for restructuring (issue 14),
which must leave the HTML pages, API answers, calendar feeds and mails byte-for-byte the same.

The demo is loaded once for the module, into an empty database whose ids start at 1, on a
clock frozen (not ticking) at ``INSTANT``, the module's ``now`` marker, so its relative dates,
every stored time and so every DTSTAMP, ETag, Last-Modified and Date header are fixed. Then,
in this order (the snapshots depend on it):

1. read: the public pages in fi, sv and en; the JSON API and the OpenAPI document; the
   calendar feeds; the staff pages of an administrator, a coordinator and two facilitators,
   each logged in through the login form in their own language;
2. act, as people do, through the pages: a visitor subscribes to the open group's reminders
   and confirms; another applies to the course (first with errors); the coordinator decides
   on three applications and sends the decisions; the mail sweep runs; the subscriber
   unsubscribes;
3. at ``LATER`` (three weeks on, the day before the course starts) the sweep runs again:
   invitations and reminders for the course's participants;
4. every message in the outbox is rendered as the sender would send it.

Each output is one text file under tests/snapshots/demo/ (request, status and response
headers first, then the body), compared exactly, after replacing only what is random on
every run (nothing else is touched; see ``Normalizer``):

- CSRF tokens in forms, and the session cookie's value (it holds the CSRF secret);
- the random tokens of private links, by whose they are, not by order of appearance, so a
  link that starts pointing at another person's token shows up in the diff: an application's
  status token (``{status-token:EMAIL}``), a participant's feed token
  (``{participant-feed-token:EMAIL}``), a staff member's feed token (``{feed-token:EMAIL}``),
  a subscription's token (``{subscription-token:EMAIL}``);
- sessions' calendar UIDs (random UUIDs): ``{uid:GROUP-SLUG#N}``, N its place among the
  group's sessions by id;
- Message-IDs (a random UUID at the host): ``<{message-id}@HOST>``.

Kept exact although not shown as sent: JSON is shown indented, and CRLF line ends (feeds,
CSV, calendar parts) are shown as LF; such files carry the SHA-256 of the exact (normalized)
text too. Mail headers are listed sorted by name, MIME parts decoded; the outbox's internal
idempotency keys are left out on purpose (issue 14 changes that protocol, not the mail).

The snapshots assume the default configuration: no instance/config.py and no REMOTE_GROUPS_*
variables that change what pages, feeds or mails say (BASE_URL, MAIL_FROM, …).

Regenerate after an intended change, then review the diff of tests/snapshots/demo/:
``UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_demo_snapshots.py``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from werkzeug.test import TestResponse

from remote_groups.applications.models import Application
from remote_groups.demo import ADMIN, STAFF_PASSWORD, load_demo
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import OutboxMessage
from remote_groups.outbox.sender import build_email
from remote_groups.regions.models import User
from remote_groups.subscriptions.models import Subscription
from remote_groups.web import request_context_for_jobs
from tests.conftest import HELSINKI

# Wednesday 23 September 2026, 14:00 in Helsinki. The course then starts on Wednesday
# 14 October and its ten sessions cross the autumn clock change (25 October); the open group
# meets on Thursdays from tomorrow for a year (Christmas Eve and Ascension Day skipped), and
# tomorrow's session is within the 24 hours of its reminders.
INSTANT = datetime(2026, 9, 23, 14, 0, tzinfo=HELSINKI)
# Tuesday 13 October 2026, 12:00: the course's first session is tomorrow, so the sweep
# invites its participants and reminds them.
LATER = datetime(2026, 10, 13, 12, 0, tzinfo=HELSINKI)
pytestmark = pytest.mark.now(INSTANT)

SNAPSHOTS = Path(__file__).parent / "snapshots" / "demo"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
REGENERATE = "UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_demo_snapshots.py"
DIFF_LINES = 60

OPEN, COURSE = "avoin-etaryhma", "hyvinvointikurssi"
LANGUAGES = ("fi", "sv", "en")
# Sent with every request, so the X-Request-ID the service echoes is not a random one.
HEADERS = {"X-Request-ID": "demo-snapshot"}

# A form's CSRF field, also a prefixed form's (``name="cancel-csrf_token"``).
CSRF_VALUE = re.compile(r'name="(?:[\w-]+-)?csrf_token"[^>]*?\svalue="([^"]*)"')
SESSION_COOKIE = re.compile(r"^(Set-Cookie: session=)[^;]*", re.MULTILINE)
MESSAGE_ID = re.compile(r"<[0-9a-f]{32}@")
EVENT_DTSTART = re.compile(r"BEGIN:VEVENT.*?^DTSTART[^:\r\n]*:(\d{8})T(\d{4})", re.M | re.S)
# An iCalendar line fold (RFC 5545 3.1) may fall anywhere, also inside a token.
FOLD = r"(?:\r?\n[ \t])?"
FOLDS = re.compile(r"\r?\n[ \t]")


def stored_snapshots() -> list[str]:
    if not SNAPSHOTS.is_dir():
        return []
    return sorted(p.relative_to(SNAPSHOTS).as_posix() for p in SNAPSHOTS.rglob("*") if p.is_file())


# --- what one output looks like in its file -------------------------------------------------


def exact_text_note(raw: str) -> tuple[str, list[str]]:
    """The text as shown (CRLF as LF), and a note pinning the exact text when they differ."""
    shown = raw.replace("\r\n", "\n")
    if shown == raw:
        return raw, []
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    return shown, [f"exact text: CRLF line ends (shown as LF), sha256 {digest}"]


@dataclass
class Captured:
    """One output before normalization: what was asked, and what came back."""

    name: str
    head: list[str]
    body: str
    mimetype: str

    def render(self, normalize: Normalizer) -> str:
        head = normalize("\n".join(self.head))
        body = normalize(self.body)
        notes: list[str] = []
        if self.mimetype == "application/json" and body:
            exact = hashlib.sha256(body.encode("utf-8")).hexdigest()
            notes.append(f"exact body: sha256 {exact} (shown indented)")
            body = json.dumps(json.loads(body), indent=2, ensure_ascii=False) + "\n"
        else:
            body, notes = exact_text_note(body)
        parts = [head, *notes, "", body if body else "(empty body)\n"]
        return "\n".join(parts)


class Normalizer:
    """Replaces what is random on every run, and nothing else (see the module docstring)."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        # For folded text (iCalendar): a fold may fall inside a secret; it is kept, after
        # the placeholder, so the lines stay as they were.
        self.folded_patterns = [
            (re.compile(FOLD.join(re.escape(ch) for ch in secret)), placeholder)
            for secret, placeholder in secrets.items()
        ]

    def __call__(self, value: str) -> str:
        value = CSRF_VALUE.sub(lambda m: m.group(0).replace(m.group(1), "{csrf-token}"), value)
        value = SESSION_COOKIE.sub(r"\1{session-cookie}", value)
        value = MESSAGE_ID.sub("<{message-id}@", value)
        if "\n " not in value and "\n\t" not in value:
            for secret, placeholder in self.secrets.items():
                value = value.replace(secret, placeholder)
            return value
        for pattern, placeholder in self.folded_patterns:
            value = pattern.sub(
                lambda m, p=placeholder: p + "".join(FOLDS.findall(m.group(0))), value
            )
        return value

    @classmethod
    def from_database(cls) -> Normalizer:
        """Every token and UID the demo's rows hold now, named by whose it is."""
        secrets: dict[str, str] = {}
        for user in db.session.scalars(select(User).order_by(User.email)):
            secrets[user.feed_token] = f"{{feed-token:{user.email}}}"
        for application in db.session.scalars(select(Application).order_by(Application.email)):
            secrets[application.status_token] = f"{{status-token:{application.email}}}"
            if application.participant is not None:
                token = application.participant.feed_token
                secrets[token] = f"{{participant-feed-token:{application.email}}}"
        for subscription in db.session.scalars(select(Subscription).order_by(Subscription.email)):
            secrets[subscription.token] = f"{{subscription-token:{subscription.email}}}"
        for group in db.session.scalars(select(RemoteGroup).order_by(RemoteGroup.slug)):
            sessions = db.session.scalars(
                select(Session).where(Session.group_id == group.id).order_by(Session.id)
            )
            for number, session in enumerate(sessions, start=1):
                secrets[session.uid] = f"{{uid:{group.slug}#{number}}}"
        assert all(len(secret) >= 20 for secret in secrets), "a token too short to replace"
        return cls(secrets)


# --- capturing ------------------------------------------------------------------------------


class Recorder:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.captured: dict[str, Captured] = {}

    def add(self, captured: Captured) -> None:
        assert captured.name not in self.captured, f"two outputs named {captured.name}"
        self.captured[captured.name] = captured

    def add_response(
        self, name: str, who: str, request: str, response: TestResponse, expect: int
    ) -> None:
        body = response.get_data(as_text=True)
        assert response.status_code == expect, (
            f"{request} as {who}: {response.status}, expected {expect}\n{body[:3000]}"
        )
        head = [request, f"as: {who}", f"status: {response.status}"]
        for key, value in sorted(response.headers.items(), key=lambda item: item[0].lower()):
            if key.lower() != "content-length":  # the body is compared exactly anyway
                head.append(f"{key}: {value}")
        self.add(Captured(name, head, body, response.mimetype))

    def visitor(self, who: str, language: str | None = None) -> Visitor:
        return Visitor(self, who, language)

    def staff(self, email: str, password: str = STAFF_PASSWORD) -> Visitor:
        with self.app.app_context():
            user = db.session.scalar(select(User).where(User.email == email))
            assert user is not None, email
            who = f"{email} ({user.role.value}, {user.language})"
        visitor = Visitor(self, who)
        page = visitor.client.get("/staff/login", headers=HEADERS)
        response = visitor.client.post(
            "/staff/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(page)},
            headers=HEADERS,
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return visitor


def csrf_of(response: TestResponse) -> str:
    match = CSRF_VALUE.search(response.get_data(as_text=True))
    assert match, "the page has a form with a CSRF token"
    return match.group(1)


class Visitor:
    """A browser: anonymous (with a language cookie, as the language links set) or a staff
    member logged in through the login form (their own language)."""

    def __init__(self, recorder: Recorder, who: str, language: str | None = None) -> None:
        self.recorder = recorder
        self.client: FlaskClient = recorder.app.test_client()
        self.who = who
        if language:
            self.client.set_cookie("lang", language)
            self.who += f", language cookie {language}"

    def get(self, name: str | None, path: str, expect: int = 200, **headers: str) -> TestResponse:
        response = self.client.get(path, headers={**HEADERS, **headers})
        if name is None:
            assert response.status_code == expect, response.status
        else:
            request = f"GET {path}" + "".join(f"\n{k}: {v}" for k, v in headers.items())
            self.recorder.add_response(name, self.who, request, response, expect)
        return response

    def post(
        self, name: str | None, path: str, data: dict[str, Any], expect: int = 302
    ) -> TestResponse:
        response = self.client.post(path, data=data, headers=HEADERS)
        if name is None:
            assert response.status_code == expect, (
                f"POST {path}: {response.status}\n{response.get_data(as_text=True)[:3000]}"
            )
        else:
            form = " ".join(f"{k}={v}" for k, v in data.items() if k != "csrf_token")
            self.recorder.add_response(name, self.who, f"POST {path} ({form})", response, expect)
        return response


@dataclass(frozen=True)
class Ids:
    """Rows the pages are about, looked up once the demo is loaded."""

    users: dict[str, int]
    applications: dict[str, int]
    status_tokens: dict[str, str]
    participant_tokens: dict[str, str]
    feed_tokens: dict[str, str]
    first_open_session: int
    first_course_session_of_lansi_uusimaa: int


def look_up_ids() -> Ids:
    users = {u.email: u for u in db.session.scalars(select(User))}
    applications = {a.name: a for a in db.session.scalars(select(Application))}

    def sessions_of(slug: str) -> list[Session]:
        return list(
            db.session.scalars(
                select(Session)
                .join(RemoteGroup)
                .where(RemoteGroup.slug == slug)
                .order_by(Session.starts_at)
            )
        )

    course_turn = next(
        s for s in sessions_of(COURSE) if s.host_region and s.host_region.slug == "lansi-uusimaa"
    )
    return Ids(
        users={email: u.id for email, u in users.items()},
        applications={name: a.id for name, a in applications.items()},
        status_tokens={name: a.status_token for name, a in applications.items()},
        participant_tokens={
            name: a.participant.feed_token for name, a in applications.items() if a.participant
        },
        feed_tokens={email: u.feed_token for email, u in users.items()},
        first_open_session=sessions_of(OPEN)[0].id,
        first_course_session_of_lansi_uusimaa=course_turn.id,
    )


# --- the demo, once per module ------------------------------------------------------------


def empty_database_with_fresh_ids() -> None:
    """No rows, and ids from 1 as in a new database (they appear in staff URLs, in the API
    and in feed versions): PostgreSQL's sequences do not restart when rows are deleted."""
    db.session.remove()
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            quote = connection.dialect.identifier_preparer.quote
            names = ", ".join(quote(t.name) for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())
            has_sequences = connection.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            ).first()
            if has_sequences:
                connection.execute(text("DELETE FROM sqlite_sequence"))


def read_public_pages(recorder: Recorder, ids: Ids) -> None:
    for language in LANGUAGES:
        visitor = recorder.visitor("anonymous", language)
        at = f".{language}.html"
        visitor.get(f"public/home{at}", "/")
        visitor.get(f"public/groups{at}", "/groups")
        visitor.get(f"public/group-open{at}", f"/groups/{OPEN}")
        visitor.get(f"public/group-course{at}", f"/groups/{COURSE}")
        visitor.get(f"public/apply-form{at}", f"/groups/{COURSE}/apply")
        visitor.get(f"public/accessibility{at}", "/accessibility")
        visitor.get(f"public/staff-login{at}", "/staff/login")
        visitor.get(f"public/forgot-password{at}", "/staff/password/forgot")
        visitor.get(f"public/not-found{at}", "/groups/no-such-group", expect=404)
        token = ids.status_tokens["Anni Asiakas"]
        visitor.get(f"public/status-accepted{at}", f"/applications/{token}")
    visitor = recorder.visitor("anonymous", "fi")
    visitor.get("public/groups-closed.fi.html", "/groups?kind=closed")
    visitor.get("public/groups-swedish.fi.html", "/groups?language=sv")
    token = ids.status_tokens["Bo Berglund"]
    visitor.get("public/status-submitted.fi.html", f"/applications/{token}")
    recorder.visitor("anonymous").get("public/home.no-language.html", "/")
    login = visitor.get(None, "/staff/login")
    visitor.post(
        "public/staff-login-wrong-password.fi.html",
        "/staff/login",
        {"csrf_token": csrf_of(login), "email": ADMIN[0], "password": "not the password"},
        expect=422,
    )


def read_api(recorder: Recorder) -> None:
    visitor = recorder.visitor("anonymous")
    visitor.get("api/openapi.json", "/api/v1/openapi.json")
    visitor.get("api/regions.json", "/api/v1/regions")
    visitor.get("api/groups.json", "/api/v1/groups")
    visitor.get("api/groups-open.json", "/api/v1/groups?kind=open")
    visitor.get("api/groups-closed.json", "/api/v1/groups?kind=closed")
    visitor.get("api/groups-swedish.json", "/api/v1/groups?language=sv")
    visitor.get("api/group-open.json", f"/api/v1/groups/{OPEN}")
    visitor.get("api/group-course.json", f"/api/v1/groups/{COURSE}")
    visitor.get("api/sessions-open.json", f"/api/v1/groups/{OPEN}/sessions")
    visitor.get(
        "api/sessions-open-winter.json",
        f"/api/v1/groups/{OPEN}/sessions?from=2026-12-01&to=2027-01-31",
    )
    visitor.get("api/sessions-course.json", f"/api/v1/groups/{COURSE}/sessions")
    visitor.get("api/error-bad-kind.json", "/api/v1/groups?kind=weekly", expect=400)
    visitor.get("api/error-not-found.json", "/api/v1/groups/no-such-group", expect=404)


def read_feeds(recorder: Recorder, ids: Ids) -> None:
    calendar = recorder.visitor("a calendar program")
    group_feed = calendar.get("feeds/group-open.ics", f"/calendar/groups/{OPEN}.ics")
    calendar.get("feeds/group-open.sv.ics", f"/calendar/groups/{OPEN}.ics?lang=sv")
    calendar.get("feeds/group-open.en.ics", f"/calendar/groups/{OPEN}.ics?lang=en")
    calendar.get(
        "feeds/group-open.not-modified.txt",
        f"/calendar/groups/{OPEN}.ics",
        expect=304,
        **{"If-None-Match": group_feed.headers["ETag"]},
    )
    calendar.get("feeds/group-course.not-public.txt", f"/calendar/groups/{COURSE}.ics", 404)
    participant = ids.participant_tokens["Anni Asiakas"]
    calendar.get("feeds/participant-anni.ics", f"/calendar/p/{participant}.ics")
    calendar.get(
        "feeds/participant-anni.en-alarm-15.ics", f"/calendar/p/{participant}.ics?lang=en&alarm=15"
    )
    facilitator = ids.feed_tokens["facilitator1@varha.example.org"]
    calendar.get("feeds/facilitator1-varha.ics", f"/calendar/f/{facilitator}.ics")
    calendar.get(
        "feeds/facilitator1-varha.region.ics", f"/calendar/f/{facilitator}.ics?scope=region"
    )
    coordinator = ids.feed_tokens["coordinator@varha.example.org"]
    calendar.get("feeds/region-varha.ics", f"/calendar/regions/varha.ics?token={coordinator}")


def read_staff_pages(recorder: Recorder, ids: Ids) -> tuple[Visitor, Visitor]:
    """The pages of each role; the administrator and the coordinator stay logged in."""
    admin = recorder.staff(ADMIN[0], ADMIN[2])
    at = "staff/admin"
    admin.get(f"{at}/home.html", "/staff/")
    admin.get(f"{at}/my-turns.html", "/staff/my-turns")
    admin.get(f"{at}/account.html", "/staff/account")
    admin.get(f"{at}/regions.html", "/staff/regions")
    admin.get(f"{at}/region-new.html", "/staff/regions/new")
    admin.get(f"{at}/region-edit-varha.html", "/staff/regions/varha/edit")
    admin.get(f"{at}/users.html", "/staff/users")
    admin.get(f"{at}/user-new.html", "/staff/users/new")
    coordinator_id = ids.users["coordinator@lansi-uusimaa.example.org"]
    admin.get(f"{at}/user-edit-coordinator.html", f"/staff/users/{coordinator_id}/edit")
    facilitator_id = ids.users["facilitator2@siun-sote.example.org"]
    admin.get(f"{at}/user-deactivate.html", f"/staff/users/{facilitator_id}/deactivate")
    admin.get(f"{at}/group-new.html", "/staff/groups/new")
    admin.get(f"{at}/group-edit-course.html", f"/staff/groups/{COURSE}/edit")
    admin.get(f"{at}/group-rotation-open.html", f"/staff/groups/{OPEN}/rotation")
    admin.get(f"{at}/group-open.html", f"/groups/{OPEN}")
    session = ids.first_open_session
    admin.get(f"{at}/session-edit.html", f"/staff/sessions/{session}/edit")
    admin.get(f"{at}/session-facilitators.html", f"/staff/sessions/{session}/facilitators")
    admin.get(f"{at}/api-sessions-course.json", f"/api/v1/groups/{COURSE}/sessions")

    coordinator = recorder.staff("coordinator@lansi-uusimaa.example.org")
    at = "staff/coordinator-lansi-uusimaa"
    coordinator.get(f"{at}/home.html", "/staff/")
    coordinator.get(f"{at}/my-turns.html", "/staff/my-turns")
    coordinator.get(f"{at}/our-turns.html", "/staff/our-turns")
    coordinator.get(f"{at}/invitations.html", "/staff/invitations")
    coordinator.get(f"{at}/account.html", "/staff/account")
    coordinator.get(f"{at}/group-new.html", "/staff/groups/new")
    coordinator.get(f"{at}/group-edit-course.html", f"/staff/groups/{COURSE}/edit")
    # The open group is Varha's: its structure is shown locked to a partner's coordinator.
    coordinator.get(f"{at}/group-edit-open.html", f"/staff/groups/{OPEN}/edit")
    coordinator.get(f"{at}/group-rotation-course.html", f"/staff/groups/{COURSE}/rotation")
    coordinator.get(f"{at}/applications.html", f"/staff/courses/{COURSE}/applications")
    coordinator.get(
        f"{at}/applications-submitted.html",
        f"/staff/courses/{COURSE}/applications?status=submitted",
    )
    for name in ("Anni Asiakas", "Jussi Jokinen"):
        page = f"{at}/application-{name.split()[0].lower()}.html"
        coordinator.get(page, f"/staff/applications/{ids.applications[name]}")
    coordinator.get(f"{at}/selection.html", f"/staff/courses/{COURSE}/selection")
    csv = f"/staff/courses/{COURSE}/participants.csv"
    coordinator.get(f"{at}/participants.csv", csv)
    coordinator.get(f"{at}/participants-with-needs.csv", csv + "?include_needs=1")
    session = ids.first_course_session_of_lansi_uusimaa
    coordinator.get(f"{at}/session-edit.html", f"/staff/sessions/{session}/edit")
    coordinator.get(f"{at}/session-facilitators.html", f"/staff/sessions/{session}/facilitators")
    coordinator.get(f"{at}/session-swap.html", f"/staff/sessions/{session}/swap")

    for email in ("facilitator1@varha.example.org", "facilitator1@siun-sote.example.org"):
        facilitator = recorder.staff(email)
        at = f"staff/{email.split('.')[0].replace('@', '-')}"
        facilitator.get(f"{at}/home.html", "/staff/")
        facilitator.get(f"{at}/my-turns.html", "/staff/my-turns")
        facilitator.get(f"{at}/our-turns.html", "/staff/our-turns")
        facilitator.get(f"{at}/account.html", "/staff/account")
    return admin, coordinator


def subscribe(recorder: Recorder) -> Visitor:
    """A visitor asks for reminders (once with a mistake), and confirms by the mailed link."""
    visitor = recorder.visitor("anonymous", "sv")
    page = visitor.get(None, f"/groups/{OPEN}")
    token = csrf_of(page)
    path = f"/groups/{OPEN}/subscribe"
    visitor.post(
        "journey/subscribe-invalid.sv.html",
        path,
        {"csrf_token": token, "email": "not-an-address", "language": "sv"},
        expect=422,
    )
    visitor.post(
        "journey/subscribe-sent.sv.html",
        path,
        {"csrf_token": token, "email": "sara.sundstrom@example.org", "language": "sv"},
        expect=200,
    )
    with recorder.app.app_context():
        subscription = db.session.scalars(select(Subscription)).one()
        confirm = f"/subscriptions/{subscription.token}/confirm"
    page = visitor.get("journey/subscription-confirm.sv.html", confirm)
    visitor.post(None, confirm, {"csrf_token": csrf_of(page)})
    visitor.get("journey/group-open-after-confirming.sv.html", f"/groups/{OPEN}")
    return visitor


def unsubscribe(visitor: Visitor) -> None:
    with visitor.recorder.app.app_context():
        token = db.session.scalars(select(Subscription)).one().token
    path = f"/subscriptions/{token}/unsubscribe"
    visitor.get("journey/unsubscribe.sv.html", path)
    visitor.post("journey/unsubscribed.sv.html", path, {}, expect=200)


def apply(recorder: Recorder) -> None:
    """A visitor sends the form empty first, then filled in, and opens their status page."""
    visitor = recorder.visitor("anonymous", "sv")
    path = f"/groups/{COURSE}/apply"
    token = csrf_of(visitor.get(None, path))
    visitor.post("journey/apply-errors.sv.html", path, {"csrf_token": token}, expect=422)
    visitor.post(
        None,
        path,
        {
            "csrf_token": token,
            "name": "Saga Sjöberg",
            "email": "saga.sjoberg@example.org",
            "phone": "+358 40 765 4321",
            "home_region": "varha",
            "language": "sv",
            "needs": "Stor text, tack.",
            "motivation": "Jag vill lära mig mer om att må bra.",
            "consent": "y",
        },
    )
    visitor.get("journey/apply-received.sv.html", f"{path}/received")
    with recorder.app.app_context():
        application = db.session.scalar(
            select(Application).where(Application.email == "saga.sjoberg@example.org")
        )
        assert application is not None
        status = f"/applications/{application.status_token}"
    visitor.get("journey/status-new-application.sv.html", status)


def decide(coordinator: Visitor, ids: Ids) -> None:
    """The course's owner region's coordinator accepts, wait-lists and turns down."""
    decisions = (
        ("Bo Berglund", "accepted", ""),
        ("Jussi Jokinen", "waitlisted", "Kurssi on melkein täynnä. Kerromme, jos paikka vapautuu."),
        ("Tove Törnqvist", "rejected", ""),
    )
    for name, decision, message in decisions:
        application = ids.applications[name]
        page = coordinator.get(None, f"/staff/applications/{application}")
        coordinator.post(
            None,
            f"/staff/applications/{application}/decide",
            {"csrf_token": csrf_of(page), "decision": decision, "message": message},
        )
    coordinator.get(
        "journey/applications-after-decisions.html", f"/staff/courses/{COURSE}/applications"
    )
    # Saved, not yet sent: the coordinator reads the mails and sends them now (the course's
    # application period is still open), with the confirmation asked; they go out after the
    # undo window.
    coordinator.get("journey/decisions-to-send.html", f"/staff/courses/{COURSE}/decisions")
    question = coordinator.get(
        "journey/decisions-send-now.html", f"/staff/courses/{COURSE}/decisions/send-now"
    )
    coordinator.post(
        None, f"/staff/courses/{COURSE}/decisions/send-now", {"csrf_token": csrf_of(question)}
    )


def run_sweep(app: Flask) -> None:
    """What the scheduler's mail job does first (then it sends; here the rows stay queued)."""
    with request_context_for_jobs(app):
        report = sweep()
        db.session.commit()
        assert report.ran and report.queued, "the sweep queued something"


def render_part(part: EmailMessage, number: str, normalize: Normalizer) -> list[str]:
    """A MIME part: its headers sorted, then its parts, or its decoded content."""
    lines = ["", f"--- part {number} ---"]
    headers = sorted(part.items(), key=lambda item: item[0].lower())
    lines += [normalize(f"{k}: {v}") for k, v in headers]
    if part.is_multipart():
        for index, child in enumerate(part.iter_parts(), start=1):
            lines += render_part(child, f"{number}.{index}", normalize)  # type: ignore[arg-type]
        return lines
    content = part.get_content()
    if isinstance(content, bytes):
        content = content.decode("utf-8")
    shown, notes = exact_text_note(normalize(content))
    return [*lines, *notes, "", shown.rstrip("\n")]


def render_mail(row: OutboxMessage, config: Any, normalize: Normalizer) -> tuple[str, str]:
    """A file name and the message as the sender builds it: the outbox row's own fields that
    decide about sending, then the message, headers sorted, parts decoded."""
    message: EmailMessage = build_email(row, config)
    about = db.session.get(Application, row.application_id) if row.application_id else None
    lines = [
        f"outbox kind: {row.kind}",
        f"expires: {row.expires_at.isoformat() if row.expires_at else 'never'}",
        f"about the application of: {about.email if about else '-'}",
    ]
    if row.held_until is not None:  # the undo window of a decision sent, a session cancelled
        lines.insert(1, f"held until: {row.held_until.isoformat()}")
    lines += render_part(message, "1", normalize)
    # Named by kind, recipient and the session's start (a reminder's expiry, an invitation's
    # DTSTART), not by the outbox's order.
    starts = EVENT_DTSTART.search(row.calendar or "")
    suffix = ""
    if row.expires_at is not None:
        suffix = "--" + row.expires_at.astimezone(HELSINKI).strftime("%Y-%m-%dT%H%M")
    elif starts:
        day, clock = starts.group(1), starts.group(2)
        suffix = f"--{day[:4]}-{day[4:6]}-{day[6:]}T{clock}"
    return f"mail/{row.kind}--{row.recipient}{suffix}", "\n".join(lines) + "\n"


def mail_outputs(normalize: Normalizer, config: Any) -> dict[str, str]:
    """Every message in the outbox, by a name made of what it is (duplicate names, as two
    reminders of one session would have, numbered in the order of their contents)."""
    rows = db.session.scalars(select(OutboxMessage)).all()
    outputs: dict[str, str] = {}
    seen: dict[str, int] = {}
    for stem, content in sorted(render_mail(row, config, normalize) for row in rows):
        seen[stem] = seen.get(stem, 0) + 1
        outputs[f"{stem}.txt" if seen[stem] == 1 else f"{stem}.{seen[stem]}.txt"] = content
    return outputs


def build_outputs(app: Flask) -> dict[str, str]:
    recorder = Recorder(app)
    with app.app_context():
        empty_database_with_fresh_ids()
        load_demo()
        db.session.commit()
        ids = look_up_ids()
    read_public_pages(recorder, ids)
    read_api(recorder)
    read_feeds(recorder, ids)
    admin, coordinator = read_staff_pages(recorder, ids)
    subscriber = subscribe(recorder)
    apply(recorder)
    decide(coordinator, ids)
    run_sweep(app)
    unsubscribe(subscriber)
    admin.get("journey/outbox.html", "/staff/outbox")
    with time_machine.travel(LATER, tick=False):
        run_sweep(app)
    with app.app_context():
        # Built last: it names every token and UID that any output may show.
        normalize = Normalizer.from_database()
        outputs = {name: c.render(normalize) for name, c in recorder.captured.items()}
        outputs.update(mail_outputs(normalize, app.config))
    return outputs


def write_snapshots(outputs: dict[str, str]) -> None:
    for stale in set(stored_snapshots()) - set(outputs):
        (SNAPSHOTS / stale).unlink()
    for name, content in outputs.items():
        path = SNAPSHOTS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8", newline="\n")
    for directory in sorted(SNAPSHOTS.rglob("*"), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    """Overrides the per-test cleaning of tests/conftest.py: the tests here only compare what
    ``outputs`` built once; it empties the tables when the module is done."""
    yield


@pytest.fixture(scope="module")
def outputs(app: Flask, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Every output of the demo by its snapshot's name, built once for the module on its own
    clock, frozen at the module's ``now`` (a module fixture starts before the tests' ``now``)."""
    marker = request.node.get_closest_marker("now")
    assert marker is not None and marker.args[0] == INSTANT
    try:
        with time_machine.travel(INSTANT, tick=False):
            built = build_outputs(app)
        if UPDATE:
            write_snapshots(built)
        yield built
    finally:
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())


# --- the tests ------------------------------------------------------------------------------


def snapshot_difference(name: str, produced: str | None) -> str | None:
    """None when the stored snapshot is the output, else a message with a unified diff."""
    path = SNAPSHOTS / name
    stored = path.read_text(encoding="utf-8") if path.exists() else None
    if stored == produced:
        return None
    if produced is None:
        problem = f"{name}: the demo no longer produces this output"
    elif stored is None:
        problem = f"{name}: a new output with no snapshot"
    else:
        problem = f"{name} differs from its snapshot"
    diff = list(
        difflib.unified_diff(
            (stored or "").splitlines(),
            (produced or "").splitlines(),
            f"stored: tests/snapshots/demo/{name}",
            "produced now",
            lineterm="",
        )
    )
    shown = diff[:DIFF_LINES]
    if len(diff) > DIFF_LINES:
        shown.append(f"… and {len(diff) - DIFF_LINES} more lines of diff")
    return (
        f"{problem}:\n" + "\n".join(shown) + "\n\nIf the change is intended, regenerate the "
        f"snapshots and review their diff:\n    {REGENERATE}"
    )


@pytest.mark.parametrize("name", stored_snapshots())
def test_output_matches_its_snapshot(outputs: dict[str, str], name: str) -> None:
    if UPDATE and name not in outputs:
        pytest.skip("no longer produced: UPDATE_SNAPSHOTS removed its file")
    difference = snapshot_difference(name, outputs.get(name))
    if difference:
        pytest.fail(difference, pytrace=False)


def test_every_output_has_a_snapshot(outputs: dict[str, str]) -> None:
    """An output without a stored file (a new page, a new mail) fails here, not silently;
    the demo still produces something of every kind."""
    new = sorted(set(outputs) - set(stored_snapshots()))
    if new:
        messages = [snapshot_difference(name, outputs[name]) or "" for name in new[:3]]
        more = f"\n({len(new)} new outputs: {', '.join(new)})" if len(new) > 3 else ""
        pytest.fail("\n\n".join(messages) + more, pytrace=False)
    kinds = {name.split("/")[0] for name in outputs}
    assert kinds == {"public", "api", "feeds", "staff", "journey", "mail"}
