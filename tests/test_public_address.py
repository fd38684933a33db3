"""The site's one public address: links in mail, feeds and the API come from BASE_URL, never
from the request's Host header, and requests for other hosts are refused (issue 13)."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from flask import Flask, url_for
from sqlalchemy import func, select

from remote_groups import create_app
from remote_groups.applications.models import Application
from remote_groups.config import ConfigError, trusted_hosts
from remote_groups.extensions import db
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import Region
from remote_groups.subscriptions.models import Subscription
from tests.applications.conftest import application_form, apply
from tests.conftest import (
    HELSINKI,
    csrf_token,
    make_course_taking_applications,
    make_group,
    make_region,
)

BASE_URL = "https://ryhmat.example.fi"
LINK = re.compile(r"https?://[^\s<>\"')]+")


def use_base_url(app: Flask, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """BASE_URL changed as a deployment would: its host is one of the trusted ones."""
    monkeypatch.setitem(app.config, "BASE_URL", url)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", trusted_hosts(app.config))


@pytest.fixture
def base_url(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    """BASE_URL set to an address that is not the one the test client asks for (localhost)."""
    use_base_url(app, monkeypatch, BASE_URL)
    return BASE_URL


@pytest.fixture
def course(app: Flask) -> str:
    """A closed course taking applications (``/groups/kurssi/apply``)."""
    with app.app_context():
        regions = [make_region(slug) for slug in ("lansi-uusimaa", "siun-sote", "varha")]
        db.session.flush()
        make_course_taking_applications(regions)
        db.session.commit()
    return "kurssi"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No configuration from the environment of whoever runs the tests."""
    import os

    for name in list(os.environ):
        if name.startswith("REMOTE_GROUPS_") or name in ("SECRET_KEY", "DATABASE_URL"):
            monkeypatch.delenv(name)
    return monkeypatch


def outbox_rows(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def links_in(message: OutboxMessage) -> list[str]:
    return LINK.findall(message.text_body) + LINK.findall(message.html_body or "")


def assert_only_base_url_links(message: OutboxMessage, base: str = BASE_URL) -> None:
    """Every link of the mail is on the site (BASE_URL) or the group's meeting link."""
    links = links_in(message)
    assert links, "the mail has links"
    for link in links:
        assert link.startswith(base + "/") or link.startswith("https://meet.example.org/"), link


# --- requests for other hosts ------------------------------------------------------------------


def test_an_application_posted_to_another_host_is_refused_and_queues_no_mail(client, app, course):
    response = client.post(
        "/groups/kurssi/apply",
        data=application_form(client),
        headers={"Host": "evil.example"},
    )

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert len(body) < 200 and "Traceback" not in body
    assert outbox_rows(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Application.id))) == 0


@pytest.mark.parametrize("path", ["/", "/groups/kurssi", "/api/v1/groups", "/healthz", "/nope"])
def test_every_page_refuses_another_host(client, course, path):
    assert client.get(path, headers={"Host": "evil.example"}).status_code == 400


def test_the_refusal_of_another_host_says_why_in_finnish_swedish_and_english(client, course):
    response = client.get("/", headers={"Host": "evil.example", "Accept-Language": "sv"})
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert "Tätä sivustoa ei ole tarjolla tässä osoitteessa." in body
    assert "Den här webbplatsen finns inte på den här adressen." in body
    assert "This site is not served at that address." in body


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5001", "localhost:8080"])
def test_development_serves_the_loopback_names_on_any_port(client, course, host):
    """`make run` with PORT=… is reached at 127.0.0.1 or localhost on that port."""
    assert client.get("/groups/kurssi", headers={"Host": host}).status_code == 200


def test_trusted_hosts_are_base_urls_own_the_listed_ones_and_in_development_loopback():
    listed = {"BASE_URL": "https://ryhmat.example.fi", "TRUSTED_HOSTS": "www.ryhmat.fi, .kunta.fi"}

    production = trusted_hosts({**listed, "ENV": "production"})
    development = trusted_hosts({**listed, "ENV": "development"})

    assert production == ["ryhmat.example.fi", "www.ryhmat.fi", ".kunta.fi"]
    assert development == [*production, "127.0.0.1", "localhost"]


def test_the_listed_hosts_are_served_and_others_refused(app, clean_environment):
    clean_environment.setenv("REMOTE_GROUPS_TRUSTED_HOSTS", '["www.ryhmat.fi", ".kunta.fi"]')
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    client = create_app(
        {"BASE_URL": "https://ryhmat.example.fi", "SQLALCHEMY_DATABASE_URI": database}
    ).test_client()

    for host, status in [
        ("ryhmat.example.fi", 200),
        ("www.ryhmat.fi", 200),
        ("ryhmat.kunta.fi", 200),  # a leading dot lets in every name under it
        ("ryhmat.example.fi.evil.example", 400),
        ("evil.example", 400),
    ]:
        assert client.get("/accessibility", headers={"Host": host}).status_code == status, host


def test_a_trusted_host_with_a_scheme_or_path_stops_the_start(clean_environment):
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS holds host names"):
        create_app({"TRUSTED_HOSTS": ["https://ryhmat.example.fi/"]})


# --- links from BASE_URL -----------------------------------------------------------------------


def test_mail_queued_during_a_request_links_only_to_base_url(client, app, course, base_url):
    """The request came to localhost (trusted), yet the receipt's status link is BASE_URL's."""
    assert apply(client).status_code == 302

    [receipt] = outbox_rows(app)
    assert_only_base_url_links(receipt)
    with app.app_context():
        token = db.session.scalar(select(Application.status_token))
    assert f"{BASE_URL}/applications/{token}" in receipt.text_body


def test_the_api_gives_base_url_links(client, world, base_url):
    [item] = client.get("/api/v1/groups").get_json()["items"]
    assert item["url"] == f"{BASE_URL}/groups/test-group"
    assert client.get("/api/v1/groups/test-group").get_json()["url"] == item["url"]


def test_the_subscription_confirmation_links_to_base_url(client, app, world, base_url):
    response = client.post(
        "/groups/test-group/subscribe",
        data={"email": "aino@example.org", "language": "fi", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 200

    [confirmation] = outbox_rows(app)
    assert confirmation.kind == "subscription_confirm"
    assert_only_base_url_links(confirmation)
    with app.app_context():
        token = db.session.scalar(select(Subscription.token))
    assert f"{BASE_URL}/subscriptions/{token}/confirm" in confirmation.text_body


def test_the_sweep_links_a_reminder_to_base_url_outside_any_request(app, base_url, now):
    """A scheduled job or a command runs outside any request (here not even the one
    ``request_context_for_jobs`` makes up): the unsubscribe link is still BASE_URL's."""
    tomorrow = now.astimezone(HELSINKI).date() + timedelta(days=1)
    with app.app_context():
        region = Region(
            slug="lansi-uusimaa",
            name_fi="Länsi-Uusimaa",
            name_sv="Västra Nyland",
            name_en="Western Uusimaa",
            contact_email="info@lu.example.org",
        )
        db.session.add(region)
        db.session.flush()
        group = make_group(
            [region],
            now=now,
            weekday=tomorrow.weekday(),
            start_time=time(10, 0),  # 22 hours after the clock's 12:00: the reminder is due
            term_start=tomorrow,
            term_end=tomorrow + timedelta(weeks=4),
            skip_holidays=False,
        )
        db.session.add(
            Subscription(group=group, email="aino@example.org", language="fi", confirmed_at=now)
        )
        db.session.commit()
        token = db.session.scalar(select(Subscription.token))

    with app.app_context():
        assert sweep().queued == 1
        db.session.commit()

    [reminder] = [row for row in outbox_rows(app) if row.kind == "reminder"]
    unsubscribe = f"{BASE_URL}/subscriptions/{token}/unsubscribe"
    assert reminder.unsubscribe_url == unsubscribe
    assert unsubscribe in reminder.text_body
    assert_only_base_url_links(reminder)


PREFIXED = "https://x.example/ryhmat"


def test_a_base_url_with_a_path_prefixes_links_once(app, client, world, monkeypatch):
    """Served under /ryhmat (SCRIPT_NAME), in a request or outside one, a link names the
    prefix once."""
    use_base_url(app, monkeypatch, PREFIXED)
    expected = f"{PREFIXED}/groups/test-group"

    at_root = client.get("/api/v1/groups/test-group").get_json()
    under_prefix = client.get("/api/v1/groups/test-group", base_url="http://localhost/ryhmat/")
    assert at_root["url"] == expected
    assert under_prefix.get_json()["url"] == expected
    feed = client.get("/calendar/groups/test-group.ics", base_url="http://localhost/ryhmat/")
    assert expected in feed.get_data(as_text=True).replace("\r\n ", "")
    with app.app_context():
        assert url_for("groups.group_page", slug="test-group") == expected
    with app.test_request_context("/", base_url="http://localhost/ryhmat/"):
        assert url_for("groups.group_page", slug="test-group") == "/ryhmat/groups/test-group"
        assert url_for("groups.group_page", slug="test-group", _external=True) == expected
