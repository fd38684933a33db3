"""A feed's ETag covers everything that changes its bytes.

Built feeds are cached by ETag, and clients holding an ETag get ``304 Not Modified``: a part
of the output missing from the ETag (the language, the reminder, the scope, a setting, a
translation) would serve one variant's bytes for another, or keep stale bytes in calendars.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.calendar.service import content, versions
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind
from remote_groups.regions.models import Role, User
from remote_groups.rotation import service as rotation_service
from tests.conftest import make_group, make_participant, make_region, make_user

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=ZoneInfo("Europe/Helsinki"))


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        content.built_feeds.clear()
        yield
    content.built_feeds.clear()


@pytest.fixture
def urls(app: Flask) -> list[str]:
    """One URL per variant of every kind of feed, all over the same data."""
    now = NOW.astimezone(UTC)
    term = {"term_start": date(2027, 1, 1), "term_end": date(2027, 12, 31)}
    with app.app_context():
        regions = [make_region(slug) for slug in ("lansi-uusimaa", "siun-sote")]
        db.session.flush()
        lead = make_user("fac@lu.example.org", Role.facilitator, regions[0], language="sv")
        make_user("coord@lu.example.org", Role.coordinator, regions[0])
        group = make_group(regions, now=now, slug="avoin", **term)
        course = make_group(
            regions, now=now, slug="kurssi", kind=GroupKind.closed, capacity=5, **term
        )
        for session in course.sessions[:8]:
            if session.host_region_id == regions[0].id and session.starts_at > now:
                rotation_service.assign_facilitators(session, lead, [], now)
        application = make_participant(course, regions[0], now)
        db.session.commit()
        participant = application.participant.feed_token
        tokens = {u.email: u.feed_token for u in db.session.scalars(select(User))}
        assert group.slug == "avoin"
    staff = tokens["fac@lu.example.org"]
    region = f"/calendar/regions/lansi-uusimaa.ics?token={tokens['coord@lu.example.org']}"
    return [
        "/calendar/groups/avoin.ics",
        "/calendar/groups/avoin.ics?lang=fi",
        "/calendar/groups/avoin.ics?lang=sv",
        "/calendar/groups/avoin.ics?lang=en",
        f"/calendar/p/{participant}.ics",
        f"/calendar/p/{participant}.ics?lang=sv",
        f"/calendar/p/{participant}.ics?alarm=0",
        f"/calendar/p/{participant}.ics?alarm=15",
        f"/calendar/f/{staff}.ics",
        f"/calendar/f/{staff}.ics?lang=fi",
        f"/calendar/f/{staff}.ics?scope=region",
        region,
        region + "&lang=sv",
    ]


def fetch(client: FlaskClient, url: str, **headers: str) -> tuple[str, bytes]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return response.headers["ETag"], response.data


def test_every_variant_gets_its_own_bytes_from_a_shared_cache(client, urls):
    """Built alone (empty cache) and built among all the others (warm cache), each URL gives
    the same bytes; two variants share an ETag only when their bytes are equal."""
    alone = {}
    for url in urls:
        content.built_feeds.clear()
        alone[url] = fetch(client, url)
    content.built_feeds.clear()
    for url in urls + urls[::-1]:
        assert fetch(client, url) == alone[url], url
    by_etag: dict[str, set[bytes]] = {}
    for etag, data in alone.values():
        by_etag.setdefault(etag, set()).add(data)
    assert all(len(variants) == 1 for variants in by_etag.values())
    assert len({data for _, data in alone.values()}) >= 10


def test_a_swedish_request_is_not_answered_with_the_finnish_version(client, urls):
    etag, finnish = fetch(client, "/calendar/groups/avoin.ics?lang=fi")
    response = client.get("/calendar/groups/avoin.ics?lang=sv", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert "Testgrupp" in response.get_data(as_text=True)
    assert "Testgrupp" not in finnish.decode("utf-8")


def test_a_new_base_url_gives_a_new_version(app, client, urls, monkeypatch):
    etag, before = fetch(client, urls[0])
    monkeypatch.setitem(app.config, "BASE_URL", "https://ryhmat.example.fi")
    new_etag, after = fetch(client, urls[0])
    assert new_etag != etag
    assert b"https://ryhmat.example.fi/groups/avoin" in after.replace(b"\r\n ", b"")
    assert before != after


def test_new_translations_give_a_new_version(app, client, urls, monkeypatch, tmp_path: Path):
    """A deployment that changes the catalogs changes the feeds' texts: their ETags change,
    so clients do not keep the old texts on a 304."""
    etag, _ = fetch(client, urls[2])
    copy = tmp_path / "translations"
    shutil.copytree(app.config["BABEL_TRANSLATION_DIRECTORIES"], copy)
    monkeypatch.setitem(app.config, "BABEL_TRANSLATION_DIRECTORIES", str(copy))
    assert fetch(client, urls[2])[0] == etag  # the same catalogs elsewhere: same version
    mo = copy / "sv" / "LC_MESSAGES" / "messages.mo"
    mo.write_bytes(mo.read_bytes() + b"\0")
    versions._catalogs_digest.cache_clear()  # the deployment restarts the workers
    assert fetch(client, urls[2])[0] != etag
