"""The JSON API at /api/v1: reading is public, creating a group needs a coordinator or admin,
errors are JSON, and /api/v1/openapi.json documents every route."""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, RemoteGroup, Session
from remote_groups.regions.models import Region
from tests.conftest import CROSSINGS, NOW, login, make_group

HELSINKI = ZoneInfo("Europe/Helsinki")
DEMO_REGIONS = ["lansi-uusimaa", "siun-sote", "varha"]
SESSION_KEYS = {"id", "starts_at", "ends_at", "status", "host_region", "topic"}


def regions(*slugs: str) -> list[Region]:
    return [db.session.scalar(select(Region).where(Region.slug == slug)) for slug in slugs]


def add_groups(app: Flask) -> None:
    """Besides the world's open Finnish group: a closed Finnish course and an open Swedish group."""
    with app.app_context():
        make_group(
            regions("lansi-uusimaa", "varha"),
            slug="closed-course",
            kind=GroupKind.closed,
            capacity=8,
            application_opens=date(2026, 11, 1),
            application_closes=date(2026, 12, 1),
        )
        make_group(
            regions("varha"),
            slug="svensk-grupp",
            language="sv",
            title_fi=None,
            title_sv="Svensk grupp",
        )
        db.session.commit()


def slugs_of(response: Any) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["slug"] for item in response.get_json()["items"]}


def load_demo_data(app: Flask) -> None:
    from remote_groups.demo import load_demo

    with app.app_context():
        load_demo()
        db.session.commit()


def sessions_of(client: FlaskClient, slug: str, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/groups/{slug}/sessions{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def assert_json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == status
    assert error["message"]
    return error


# --- reading ---------------------------------------------------------------------------------


def test_regions_are_listed_by_slug_with_names_in_three_languages(client, world):
    items = client.get("/api/v1/regions").get_json()["items"]
    assert [r["slug"] for r in items] == ["lansi-uusimaa", "lappi", "siun-sote", "varha"]
    assert items[0]["name"] == {
        "fi": "lansi-uusimaa fi",
        "sv": "lansi-uusimaa sv",
        "en": "lansi-uusimaa en",
    }


def test_groups_are_listed_without_filters(app, client, world):
    add_groups(app)
    assert slugs_of(client.get("/api/v1/groups")) == {"test-group", "closed-course", "svensk-grupp"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=open", {"test-group", "svensk-grupp"}),
        ("kind=closed", {"closed-course"}),
        ("language=fi", {"test-group", "closed-course"}),
        ("language=sv", {"svensk-grupp"}),
        ("kind=open&language=sv", {"svensk-grupp"}),
    ],
)
def test_groups_can_be_filtered_by_kind_and_language(app, client, world, query, expected):
    add_groups(app)
    assert slugs_of(client.get(f"/api/v1/groups?{query}")) == expected


@pytest.mark.parametrize("query", ["kind=public", "kind=", "language=en", "language=FI"])
def test_a_bad_group_filter_is_a_400_json_error(client, world, query):
    assert_json_error(client.get(f"/api/v1/groups?{query}"), 400)


def test_one_group_is_described_with_its_schedule_and_regions_in_turn_order(client, world):
    response = client.get(f"/api/v1/groups/{world['group_slug']}")
    assert response.status_code == 200
    group = response.get_json()
    assert group["slug"] == "test-group"
    assert group["kind"] == "open"
    assert group["language"] == "fi"
    assert group["title"]["fi"] == "Testiryhmä"
    assert group["regions"] == DEMO_REGIONS
    assert group["owner_region"] == "lansi-uusimaa"
    assert group["schedule"]["weekday"] == 3
    assert group["schedule"]["start_time"] == "13:00"
    assert group["schedule"]["timezone"] == "Europe/Helsinki"
    assert group["url"].endswith("/groups/test-group")
    assert "capacity" not in group


def test_a_closed_course_shows_its_capacity_and_application_window(app, client, world):
    add_groups(app)
    group = client.get("/api/v1/groups/closed-course").get_json()
    assert group["capacity"] == 8
    assert group["application_window"] == {"opens": "2026-11-01", "closes": "2026-12-01"}


@pytest.mark.parametrize("path", ["/api/v1/groups/nope", "/api/v1/groups/nope/sessions"])
def test_an_unknown_group_is_a_404_in_json_not_html(client, world, path):
    response = client.get(path)
    assert_json_error(response, 404)
    assert "<html" not in response.get_data(as_text=True)


def test_an_unknown_api_path_is_a_404_in_json(client):
    assert_json_error(client.get("/api/v1/nothing-here"), 404)


def test_a_wrong_method_is_a_405_in_json(client):
    assert_json_error(client.delete("/api/v1/groups"), 405)


def test_sessions_have_exactly_the_documented_keys(client, world):
    items = sessions_of(client, world["group_slug"])
    assert items
    for item in items:
        assert set(item) == SESSION_KEYS


def test_session_times_are_iso_8601_with_the_helsinki_offset(client, world):
    for item in sessions_of(client, world["group_slug"]):
        starts_at = datetime.fromisoformat(item["starts_at"])
        ends_at = datetime.fromisoformat(item["ends_at"])
        assert starts_at.utcoffset() is not None
        assert starts_at.utcoffset() == starts_at.astimezone(HELSINKI).utcoffset()
        assert starts_at.strftime("%H:%M") == "13:00"
        assert (ends_at - starts_at).total_seconds() == 60 * 60
        assert item["status"] == "scheduled"
        assert item["host_region"] in DEMO_REGIONS


def test_sessions_are_listed_in_time_order(client, world):
    items = sessions_of(client, world["group_slug"])
    starts = [datetime.fromisoformat(i["starts_at"]) for i in items]
    assert starts == sorted(starts)


def test_sessions_can_be_limited_to_a_date_range_inclusive(app, client, world):
    add_groups(app)  # closed-course: Thursdays of 2027-01-01 … 2027-06-30
    items = sessions_of(client, "closed-course", "?from=2027-02-04&to=2027-02-25")
    days = [datetime.fromisoformat(i["starts_at"]).date() for i in items]
    assert days == [date(2027, 2, 4), date(2027, 2, 11), date(2027, 2, 18), date(2027, 2, 25)]


def test_sessions_from_a_date_leave_out_earlier_ones(app, client, world):
    add_groups(app)
    items = sessions_of(client, "closed-course", "?from=2027-06-01")
    days = [datetime.fromisoformat(i["starts_at"]).date() for i in items]
    assert days == [date(2027, 6, 3), date(2027, 6, 10), date(2027, 6, 17), date(2027, 6, 24)]


@pytest.mark.parametrize(
    "query", ["from=tomorrow", "to=2027-13-01", "from=2027-02-30", "to=", "from=01.02.2027"]
)
def test_a_bad_date_filter_is_a_400_json_error(client, world, query):
    response = client.get(f"/api/v1/groups/{world['group_slug']}/sessions?{query}")
    error = assert_json_error(response, 400)
    assert "date" in error["message"]


# --- the demo through the API ----------------------------------------------------------------


def test_demo_open_group_meets_at_13_local_time_in_winter_and_in_summer(app, client):
    load_demo_data(app)
    items = sessions_of(client, "avoin-etaryhma")
    starts = [datetime.fromisoformat(i["starts_at"]) for i in items]
    offsets = {i["starts_at"][-6:] for i in items}
    assert {"+02:00", "+03:00"} <= offsets
    assert {s.strftime("%H:%M") for s in starts} == {"13:00"}


@pytest.mark.parametrize(
    "now", [NOW, *CROSSINGS.values()], ids=["default", *CROSSINGS], indirect=True
)
def test_demo_course_has_ten_scheduled_sessions_ten_places_and_open_applications(app, client, now):
    """The demo is dated from the day it is loaded: also on a night the clocks change, at New
    Year, on a leap day."""
    load_demo_data(app)
    course = client.get("/api/v1/groups/hyvinvointikurssi").get_json()
    assert course["kind"] == "closed"
    assert course["capacity"] == 10
    today = now.astimezone(HELSINKI).date()
    window = course["application_window"]
    assert date.fromisoformat(window["opens"]) <= today <= date.fromisoformat(window["closes"])
    scheduled = [i for i in sessions_of(client, "hyvinvointikurssi") if i["status"] == "scheduled"]
    assert len(scheduled) == 10


@pytest.mark.parametrize("slug", ["hyvinvointikurssi", "avoin-etaryhma"])
def test_demo_host_regions_take_turns_among_the_three_regions(app, client, slug):
    load_demo_data(app)
    assert client.get(f"/api/v1/groups/{slug}").get_json()["regions"] == DEMO_REGIONS
    hosts = [i["host_region"] for i in sessions_of(client, slug) if i["status"] == "scheduled"]
    assert set(hosts) == set(DEMO_REGIONS)
    assert all(this != following for this, following in pairwise(hosts)), hosts
    turns = {region: hosts.count(region) for region in DEMO_REGIONS}
    assert max(turns.values()) - min(turns.values()) <= 1, turns


# --- creating a group ------------------------------------------------------------------------


def valid_group(**overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "slug": "new-group",
        "kind": "open",
        "language": "fi",
        "title_fi": "Uusi ryhmä",
        "meeting_url": "https://meet.example.org/new",
        "weekday": 1,
        "start_time": "14:30",
        "duration_minutes": 90,
        "term_start": "2027-01-01",
        "term_end": "2027-03-31",
        "regions": ["lansi-uusimaa", "siun-sote"],
    }
    payload.update(overrides)
    return {name: value for name, value in payload.items() if value is not None}


def stored_rows(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(RemoteGroup)),
            db.session.scalar(select(func.count()).select_from(Session)),
        )


def test_a_coordinator_creates_a_group_which_then_can_be_read(app, client, world):
    login(client, "coord@lu.example.org")
    response = client.post("/api/v1/groups", json=valid_group())
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert created["slug"] == "new-group"
    assert created["owner_region"] == "lansi-uusimaa"
    # siun-sote is invited: it takes part once its own coordinator accepts.
    assert created["regions"] == ["lansi-uusimaa"]
    assert created.pop("invited_regions") == ["siun-sote"]
    assert client.get("/api/v1/groups/new-group").get_json() == created
    # A new group is a draft: its staff read it, the list (public) has it once published.
    assert "new-group" not in slugs_of(client.get("/api/v1/groups"))


def test_reminder_hours_longer_than_the_column_are_refused_not_a_500(app, client, world):
    login(client, "coord@lu.example.org")
    too_long = ",".join(["24"] * 14)  # 41 characters of valid hours
    before = stored_rows(app)
    response = client.post("/api/v1/groups", json=valid_group(reminder_hours=too_long))
    error = assert_json_error(response, 422)
    assert "reminder_hours" in error["fields"]
    assert stored_rows(app) == before


def test_a_created_group_gets_its_weekly_sessions_at_the_local_time(app, client, world):
    login(client, "coord@lu.example.org")
    client.post("/api/v1/groups", json=valid_group())
    items = sessions_of(client, "new-group")
    starts = [datetime.fromisoformat(i["starts_at"]) for i in items]
    assert starts, "a term in 2027 has sessions"
    assert {s.weekday() for s in starts} == {1}
    assert {s.strftime("%H:%M") for s in starts} == {"14:30"}
    assert starts[0].date() == date(2027, 1, 5)


def test_a_group_created_through_the_api_skips_public_holidays_by_default(app, client, world):
    login(client, "coord@lu.example.org")
    payload = valid_group(weekday=3, term_start="2027-04-29", term_end="2027-05-13")
    assert client.post("/api/v1/groups", json=payload).status_code == 201
    days = [datetime.fromisoformat(i["starts_at"]).date() for i in sessions_of(client, "new-group")]
    assert days == [date(2027, 4, 29), date(2027, 5, 13)]  # 2027-05-06 is Ascension Day


def test_a_group_created_through_the_api_may_choose_to_meet_on_holidays(app, client, world):
    login(client, "coord@lu.example.org")
    payload = valid_group(
        weekday=3, term_start="2027-04-29", term_end="2027-05-13", skip_holidays=False
    )
    assert client.post("/api/v1/groups", json=payload).status_code == 201
    days = [datetime.fromisoformat(i["starts_at"]).date() for i in sessions_of(client, "new-group")]
    assert days == [date(2027, 4, 29), date(2027, 5, 6), date(2027, 5, 13)]


def test_an_admin_creates_a_closed_course(app, client, world):
    login(client, "admin@example.org")
    payload = valid_group(
        slug="new-course",
        kind="closed",
        capacity=12,
        application_opens="2026-11-01",
        application_closes="2026-12-01",
        owner_region="varha",
        regions=["varha"],
    )
    response = client.post("/api/v1/groups", json=payload)
    assert response.status_code == 201, response.get_data(as_text=True)
    course = response.get_json()
    assert (course["kind"], course["capacity"], course["owner_region"]) == ("closed", 12, "varha")


def test_creating_a_group_needs_a_login(app, client, world):
    before = stored_rows(app)
    assert_json_error(client.post("/api/v1/groups", json=valid_group()), 401)
    assert stored_rows(app) == before


def test_a_facilitator_cannot_create_a_group(app, client, world):
    login(client, "fac@lu.example.org")
    before = stored_rows(app)
    assert_json_error(client.post("/api/v1/groups", json=valid_group()), 403)
    assert stored_rows(app) == before


def test_a_coordinator_cannot_create_a_group_for_another_region(app, client, world):
    login(client, "coord@lu.example.org")
    before = stored_rows(app)
    response = client.post("/api/v1/groups", json=valid_group(owner_region="varha"))
    assert_json_error(response, 403)
    assert stored_rows(app) == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("slug=new-group&kind=open", "application/x-www-form-urlencoded"),
        ('{"slug": "new-group"', "application/json"),
        ('["new-group"]', "application/json"),
        ('"new-group"', "application/json"),
    ],
    ids=["form-encoded", "broken-json", "json-list", "json-string"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(app, client, world, body, content_type):
    login(client, "coord@lu.example.org")
    before = stored_rows(app)
    assert_json_error(client.post("/api/v1/groups", data=body, content_type=content_type), 400)
    assert stored_rows(app) == before


def test_a_body_over_one_megabyte_is_a_413_in_json(app, client, world):
    login(client, "coord@lu.example.org")
    before = stored_rows(app)
    response = client.post("/api/v1/groups", json=valid_group(description_fi="x" * 1024 * 1024))
    assert_json_error(response, 413)
    assert stored_rows(app) == before


CLOSED = {
    "kind": "closed",
    "capacity": 10,
    "application_opens": "2026-11-01",
    "application_closes": "2026-12-01",
}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"term_start": "2027-03-01", "term_end": "2027-02-28"}, "term_end"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 481}, "duration_minutes"),
        ({"regions": ["lansi-uusimaa", "atlantis"]}, "regions"),
        ({**CLOSED, "capacity": 0}, "capacity"),
        ({**CLOSED, "capacity": None}, "capacity"),
        ({"meeting_url": "http://meet.example.org/new"}, "meeting_url"),
        ({"meeting_url": "https://"}, "meeting_url"),
        ({"slug": "test-group"}, "slug"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"weekday": 7}, "weekday"),
        ({"weekday": -1}, "weekday"),
        ({"regions": None}, "regions"),
        ({"regions": []}, "regions"),
        ({"regions": ["varha", "varha"]}, "regions"),
        ({**CLOSED, "application_opens": None, "application_closes": None}, "application_closes"),
        (
            {**CLOSED, "application_opens": "2026-12-01", "application_closes": "2026-11-01"},
            "application_closes",
        ),
        ({"start_time": "25:00"}, "start_time"),
        ({"language": "en"}, "language"),
        ({"kind": "secret"}, "kind"),
        ({"owner_region": "atlantis"}, "owner_region"),
        ({"title_fi": None}, "title_fi"),
    ],
    ids=[
        "term-ending-before-it-starts",
        "duration-0",
        "duration-481",
        "unknown-region",
        "closed-course-with-capacity-0",
        "closed-course-without-capacity",
        "plain-http-meeting-link",
        "meeting-link-without-host",
        "duplicate-slug",
        "slug-with-spaces-and-capitals",
        "weekday-7",
        "weekday-minus-1",
        "missing-regions",
        "empty-regions",
        "region-twice",
        "closed-course-without-application-window",
        "applications-closing-before-they-open",
        "start-time-25",
        "group-language-en",
        "unknown-kind",
        "unknown-owner-region",
        "no-title-in-the-groups-language",
    ],
)
def test_api_refuses_invalid_groups_with_422_naming_the_field_and_stores_nothing(
    app, client, world, overrides, field
):
    login(client, "coord@lu.example.org")
    before = stored_rows(app)
    response = client.post("/api/v1/groups", json=valid_group(**overrides))
    error = assert_json_error(response, 422)
    assert field in error["fields"], error
    assert all(error["fields"][field])
    assert stored_rows(app) == before


# --- the OpenAPI document --------------------------------------------------------------------


def openapi(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_openapi_document_is_openapi_3_1(client):
    assert openapi(client)["openapi"].startswith("3.1.")


def test_openapi_document_has_the_read_paths(client):
    paths = openapi(client)["paths"]
    for path in ("/regions", "/groups", "/groups/{slug}", "/groups/{slug}/sessions"):
        assert "get" in paths[path], path


def test_openapi_document_describes_every_api_route_and_method(app, client):
    paths = openapi(client)["paths"]
    documented = {(path, method) for path, item in paths.items() for method in item}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = rule.rule.removeprefix("/api/v1").replace("<slug>", "{slug}")
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served
    assert served <= documented, served - documented
