"""Abuse limits and browser protections: headers, rate limits, lockout, roles, body size."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from remote_groups.applications.models import Application
from remote_groups.extensions import db
from remote_groups.security import throttle
from remote_groups.security.throttle import lockout_seconds
from tests.conftest import (
    PASSWORD,
    csrf_token,
    login,
    make_course_taking_applications,
    make_region,
)

# --- headers ---------------------------------------------------------------------------------

PAGES = ("/", "/groups", "/groups/test-group", "/staff/login", "/api/v1/groups", "/healthz")


@pytest.mark.parametrize("path", PAGES)
def test_every_answer_carries_the_security_headers(client, world, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_error_pages_carry_the_security_headers_too(client, world):
    headers = client.get("/no-such-page").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_is_sent_over_tls_only(client, world):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_staff_pages_are_not_stored_in_caches(client, world):
    login(client, "coord@lu.example.org")
    assert client.get("/staff/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/groups").headers.get("Cache-Control", "")


def test_the_session_cookie_is_httponly_and_samesite(client, world):
    login(client, "fac@lu.example.org")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_cookies_are_secure_when_the_site_is_served_over_https():
    from remote_groups import create_app

    app = create_app({"TESTING": True, "BASE_URL": "https://ryhmat.example.fi"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    plain = create_app({"TESTING": True, "BASE_URL": "http://127.0.0.1:5000"})
    assert plain.config["SESSION_COOKIE_SECURE"] is False


# --- roles -----------------------------------------------------------------------------------

COORDINATOR_PAGES = (
    "/staff/groups/new",
    "/staff/groups/test-group/edit",
    "/staff/outbox",
    "/staff/users",
    "/staff/regions",
)


@pytest.mark.parametrize("path", COORDINATOR_PAGES)
def test_a_facilitators_session_cookie_cannot_reach_coordinator_pages(client, world, path):
    login(client, "fac@lu.example.org")
    assert client.get("/staff/").status_code == 200  # the cookie is a valid staff session
    response = client.get(path)
    assert response.status_code == 403
    assert "<form" not in response.get_data(as_text=True).split("</header>", 1)[-1]


def test_a_facilitator_cannot_post_to_a_coordinator_action(client, app, world):
    login(client, "fac@lu.example.org")
    response = client.post(
        "/staff/groups/test-group/regenerate", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 403


# --- request size ----------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413_and_a_page(client, app, world):
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    response = client.post(
        "/staff/login",
        data={"email": "x" * too_big, "password": "p", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 413
    assert "<h1>" in response.get_data(as_text=True)


def test_a_body_over_the_limit_changes_nothing(client, app, course):
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    form = application_form(client, needs="x" * too_big)
    assert client.post("/groups/kurssi/apply", data=form).status_code == 413
    assert applications_stored(app) == 0


# --- rate limits -----------------------------------------------------------------------------


@pytest.fixture
def course(app: Flask) -> str:
    with app.app_context():
        regions = [make_region(slug) for slug in ("lu", "varha")]
        db.session.flush()
        make_course_taking_applications(regions, capacity=5)
        db.session.commit()
    return "kurssi"


def application_form(client: FlaskClient, **overrides: str) -> dict[str, str]:
    data = {
        "name": "Aino Asiakas",
        "email": "aino@example.org",
        "home_region": "lu",
        "language": "fi",
        "motivation": "Haluan oppia uutta.",
        "consent": "y",
        "csrf_token": csrf_token(client),
    }
    data.update(overrides)
    return data


def applications_stored(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Application))


def test_the_application_form_answers_429_over_the_limit_per_address(
    client, app, course, monkeypatch
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_APPLICATIONS", (2, 3600))
    for number in (1, 2):
        sent = client.post(
            "/groups/kurssi/apply", data=application_form(client, email=f"a{number}@example.org")
        )
        assert sent.status_code == 302
    refused = client.post(
        "/groups/kurssi/apply", data=application_form(client, email="a3@example.org")
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 3500
    assert applications_stored(app) == 2  # the refused one changed nothing


def test_the_429_page_is_localized(client, app, course, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_APPLICATIONS", (1, 600))
    client.post("/groups/kurssi/apply", data=application_form(client))
    page = client.post(
        "/groups/kurssi/apply?lang=sv", data=application_form(client, email="b@example.org")
    ).get_data(as_text=True)
    assert "10 minuter" in page


def test_the_limit_counts_per_address(client, app, course, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_APPLICATIONS", (1, 3600))
    first = application_form(client, email="c1@example.org")
    assert client.post("/groups/kurssi/apply", data=first).status_code == 302
    other_address = {"REMOTE_ADDR": "192.0.2.7"}
    second = application_form(client, email="c2@example.org")
    response = client.post("/groups/kurssi/apply", data=second, environ_base=other_address)
    assert response.status_code == 302


def test_viewing_the_form_is_not_counted(client, app, course, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_APPLICATIONS", (1, 3600))
    for _ in range(3):
        assert client.get("/groups/kurssi/apply").status_code == 200
    assert client.post("/groups/kurssi/apply", data=application_form(client)).status_code == 302


def test_the_window_ends_and_the_address_may_send_again(app, ctx):
    limit = throttle.Limit(1, 60)
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert throttle.hit("apply", "192.0.2.1", limit, start) is None
    assert throttle.hit("apply", "192.0.2.1", limit, start + timedelta(seconds=30)) == 30
    assert throttle.hit("apply", "192.0.2.1", limit, start + timedelta(seconds=61)) is None


def test_the_login_form_answers_429_over_the_limit_per_address(client, app, world, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_LOGIN", (3, 900))
    answers = [
        client.post(
            "/staff/login",
            data={"email": f"u{n}@example.org", "password": "x", "csrf_token": csrf_token(client)},
        ).status_code
        for n in range(4)
    ]
    assert answers == [422, 422, 422, 429]


# --- login lockout ---------------------------------------------------------------------------


def test_lockout_starts_after_the_set_number_of_failures_and_doubles():
    assert [lockout_seconds(n, 5, 60, 3600) for n in range(1, 12)] == [
        0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600,
    ]  # fmt: skip


def post_login(client: FlaskClient, password: str, email: str = "coord@lu.example.org"):
    return client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
    )


def fail_until_locked(client: FlaskClient, app: Flask) -> None:
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"] - 1):
        assert post_login(client, "wrong").status_code == 422
    locked = post_login(client, "wrong")
    assert locked.status_code == 429


def test_a_locked_out_login_refuses_even_the_right_password(client, app, world):
    fail_until_locked(client, app)
    response = post_login(client, PASSWORD)
    assert response.status_code == 429
    assert "estetty" in response.get_data(as_text=True)  # "locked", in Finnish
    assert client.get("/staff/").status_code == 302  # still not logged in


def test_a_locked_out_login_stays_locked_for_its_backoff_then_opens(
    client, app, world, monkeypatch, now
):
    start = now
    monkeypatch.setattr(throttle, "utcnow", lambda: start)
    fail_until_locked(client, app)
    first_lock = app.config["LOGIN_LOCKOUT_SECONDS"]
    monkeypatch.setattr(throttle, "utcnow", lambda: start + timedelta(seconds=first_lock - 1))
    assert post_login(client, PASSWORD).status_code == 429
    monkeypatch.setattr(throttle, "utcnow", lambda: start + timedelta(seconds=first_lock + 1))
    assert post_login(client, PASSWORD).status_code == 302


def test_another_failure_after_a_lock_doubles_the_wait(client, app, world, monkeypatch, now):
    start = now
    monkeypatch.setattr(throttle, "utcnow", lambda: start)
    fail_until_locked(client, app)
    later = start + timedelta(seconds=app.config["LOGIN_LOCKOUT_SECONDS"] + 1)
    monkeypatch.setattr(throttle, "utcnow", lambda: later)
    again = post_login(client, "wrong")
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) == 2 * app.config["LOGIN_LOCKOUT_SECONDS"]


def test_a_right_password_clears_the_failures(client, app, world):
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"] - 1):
        post_login(client, "wrong")
    assert post_login(client, PASSWORD).status_code == 302
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"] - 1):
        assert post_login(client, "wrong").status_code == 422


def test_a_lockout_holds_for_unknown_emails_too(client, app, world):
    """The same answers for an email without an account: nothing tells which emails exist."""
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"] - 1):
        assert post_login(client, "wrong", email="nobody@example.org").status_code == 422
    assert post_login(client, "wrong", email="nobody@example.org").status_code == 429


def test_the_throttle_table_holds_no_address_or_email(client, app, world):
    from remote_groups.security.models import Throttle

    post_login(client, "wrong")
    with app.app_context():
        keys = db.session.scalars(select(Throttle.key)).all()
    assert keys
    assert not any("coord@lu.example.org" in key or "127.0.0.1" in key for key in keys)


def test_old_counters_are_forgotten_but_running_locks_are_kept(app, ctx):
    from remote_groups.security.models import Throttle

    now = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
    long_ago = now - timedelta(days=2)
    throttle.hit("apply", "192.0.2.1", throttle.Limit(20, 3600), long_ago)
    throttle.hit("apply", "192.0.2.2", throttle.Limit(20, 3600), now - timedelta(minutes=5))
    db.session.add(
        Throttle(
            key="login:locked",
            window_start=long_ago,
            count=9,
            locked_until=now + timedelta(hours=1),
        )
    )
    db.session.commit()
    assert throttle.forget_old_counters(now) == 1
    db.session.commit()
    assert len(db.session.scalars(select(Throttle.key)).all()) == 2


INLINE = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.I)


@pytest.mark.parametrize("path", ["/", "/groups", "/groups/test-group", "/staff/login"])
def test_pages_need_no_inline_script_or_style_so_the_policy_blocks_nothing(client, world, path):
    for language in ("fi", "sv"):
        page = client.get(f"{path}?lang={language}").get_data(as_text=True)
        assert INLINE.findall(page) == []


def test_staff_pages_need_no_inline_script_or_style(client, world):
    login(client, "coord@lu.example.org")
    for path in ("/staff/", "/staff/groups/new", "/staff/groups/test-group/edit"):
        assert INLINE.findall(client.get(path).get_data(as_text=True)) == []


def test_the_language_cookie_is_secure_over_https():
    from remote_groups import create_app

    app = create_app({"TESTING": True, "BASE_URL": "https://ryhmat.example.fi"})
    answer = app.test_client().get("/language/sv", base_url="https://ryhmat.example.fi")
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie


def test_the_lockout_never_exceeds_its_maximum_however_many_failures():
    assert lockout_seconds(1_000_000, 5, 60, 3600) == 3600
