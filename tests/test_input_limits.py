"""Input the service does not take is refused at the edge with a 4xx and a message, and
changes nothing: control characters, ids beyond any row, dates and numbers beyond what the
database and the calendar code hold, JSON nested or sized to break the parser, terms that
would generate thousands of sessions. On SQLite and PostgreSQL alike (PostgreSQL cannot even
compare a text with NUL in it, so each of these used to be a 500 there)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from remote_groups.applications.models import Application
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.outbox.models import OutboxMessage
from tests.applications.conftest import apply
from tests.applications.conftest import course as course  # noqa: F401 (the fixture)
from tests.conftest import csrf_token, login

CONTROL_MESSAGE = "Osoitteessa tai lomakkeessa oli näkymättömiä ohjausmerkkejä"
ONE_LINE_MESSAGE = "Kirjoita tämä yhdelle riville ilman rivinvaihtoja."


def counts(app: Flask) -> tuple[int, int, int, int]:
    """Applications, outbox messages, groups, sessions."""
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Application, OutboxMessage, RemoteGroup, Session)
        )


# --- control characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/groups/%00",
        "/groups/kurssi/apply%00",
        "/?q=%00",
        "/?lang=fi%00",
        "/groups?kind=%01open",
        "/?%00=1",
        "/groups/kurssi%0D%0AX-Injected:%201",
        "/applications/%00",
        "/calendar/groups/kurssi.ics?lang=%1b",
    ],
)
def test_a_control_character_in_the_address_is_a_400_with_a_message(client, course, path):
    response = client.get(path)
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.get_data(as_text=True)


def test_a_control_character_in_an_api_address_is_a_400_in_json(client, course):
    response = client.get("/api/v1/groups/%00/sessions")
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]["code"] == 400


@pytest.mark.parametrize("value", ["A\x00", "A\x1bB", "A\x7f\x08B"])
def test_a_control_character_in_a_form_value_is_a_400_and_nothing_is_saved(
    client, app, course, value
):
    before = counts(app)
    response = apply(client, name=value)
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_control_character_in_a_form_field_name_is_a_400(client, app, course):
    before = counts(app)
    response = client.post(
        "/groups/kurssi/apply", data={"csrf_token": csrf_token(client), "x\x00": "1"}
    )
    assert response.status_code == 400
    assert counts(app) == before


def test_multi_line_fields_keep_tabs_and_line_breaks(client, app, course):
    response = apply(client, needs="Avustaja\r\n\t– ja tauot", motivation="Rivi 1\nRivi 2")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Application.needs)) == "Avustaja\r\n\t– ja tauot"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "A\r\nB"),
        ("name", "A\nB"),
        ("name", "A\tB"),
        ("name", "A\u2028B"),
        ("email", "aino@example.org\r\nBcc: x@example.org"),
        ("phone", "+358 40 123 4567\n"),
    ],
)
def test_a_line_break_in_a_one_line_field_is_a_form_error(client, app, course, field, value):
    before = counts(app)
    response = apply(client, **{field: value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    if field == "name":
        assert ONE_LINE_MESSAGE in page
    assert counts(app) == before


# --- ids beyond any row ------------------------------------------------------------------------

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("email", "method", "path"),
    [
        ("admin@example.org", "post", f"/staff/outbox/{HUGE}/resend"),
        ("admin@example.org", "post", "/staff/outbox/2147483648/resend"),
        ("coord@lu.example.org", "get", f"/staff/applications/{HUGE}"),
        ("coord@lu.example.org", "post", f"/staff/applications/{HUGE}/decide"),
        ("coord@lu.example.org", "get", f"/staff/sessions/{HUGE}/edit"),
        ("coord@lu.example.org", "post", f"/staff/sessions/{HUGE}/cancel"),
        ("coord@lu.example.org", "post", f"/staff/swaps/{'9' * 5000}/accept"),
    ],
)
def test_an_id_beyond_any_row_is_a_404(client, course, email, method, path):
    login(client, email)
    response = getattr(client, method)(path, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 404


def test_the_largest_id_is_looked_up_and_not_found(client, course):
    login(client, "coord@lu.example.org")
    assert client.get("/staff/applications/2147483647").status_code == 404


def test_a_huge_id_among_chosen_applications_changes_nothing(client, app, course):
    apply(client)
    login(client, "coord@lu.example.org")
    response = client.post(
        "/staff/courses/kurssi/applications/bulk",
        data={"applications": HUGE, "decision": "accepted", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Application.status)).value == "submitted"


# --- dates and numbers -------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["from=9999-12-31", "to=9999-12-31", "from=0001-01-01"])
def test_an_api_date_outside_the_supported_years_is_a_400_with_a_message(client, course, query):
    response = client.get(f"/api/v1/groups/kurssi/sessions?{query}")
    assert response.status_code == 400
    assert "2000-01-01" in response.get_json()["error"]["message"]


def test_api_dates_at_the_edges_of_the_supported_years_are_read(client, course):
    response = client.get("/api/v1/groups/kurssi/sessions?from=2000-01-01&to=2099-12-31")
    assert response.status_code == 200
    assert response.get_json()["items"]


def valid_group(**overrides: Any) -> dict[str, Any]:
    group = {
        "slug": "uusi-ryhma",
        "kind": "open",
        "language": "fi",
        "title_fi": "Uusi ryhmä",
        "meeting_url": "https://meet.example.org/uusi",
        "weekday": 1,
        "start_time": "14:30",
        "duration_minutes": 90,
        "term_start": "2027-01-01",
        "term_end": "2027-03-31",
        "regions": ["lansi-uusimaa"],
    }
    return {**group, **overrides}


CLOSED = {"kind": "closed", "application_opens": "2026-11-01", "application_closes": "2026-12-01"}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"term_end": "9999-12-31"}, "term_end", "Valitse päivämäärä väliltä"),
        ({"term_start": "0001-01-01"}, "term_start", "Valitse päivämäärä väliltä"),
        ({"term_start": "2207-01-01", "term_end": "2207-12-31"}, "term_start", "väliltä"),
        ({"term_end": "2030-01-02"}, "term_end", "Kausi voi olla enintään 3 vuotta pitkä."),
        ({**CLOSED, "application_closes": "9999-12-31"}, "application_closes", "väliltä"),
        ({**CLOSED, "capacity": 3_000_000_000}, "capacity", "Luku on liian suuri."),
        ({"duration_minutes": -(10**12)}, "duration_minutes", "Luku on liian suuri."),
        ({"title_fi": "Otsikko\nX-Header: 1"}, "title_fi", ONE_LINE_MESSAGE),
        ({"slug": "uusi\n"}, "slug", ONE_LINE_MESSAGE),
    ],
    ids=[
        "term-ending-9999",
        "term-starting-year-1",
        "term-in-2207",
        "term-over-three-years",
        "applications-closing-9999",
        "capacity-beyond-32-bits",
        "duration-hugely-negative",
        "title-on-two-lines",
        "slug-with-a-newline",
    ],
)
def test_the_group_form_refuses_what_the_service_cannot_plan(
    app, client, course, overrides, field, message
):
    login(client, "coord@lu.example.org")
    before = counts(app)
    response = client.post("/api/v1/groups?lang=fi", json=valid_group(**overrides))
    assert response.status_code == 422, response.get_data(as_text=True)
    fields = response.get_json()["error"]["fields"]
    assert any(message in text for text in fields[field]), fields
    assert counts(app) == before


def test_a_term_of_exactly_three_years_is_taken(app, client, course):
    login(client, "coord@lu.example.org")
    response = client.post(
        "/api/v1/groups", json=valid_group(term_start="2027-01-01", term_end="2030-01-01")
    )
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_huge_capacity_in_the_staff_form_is_a_form_error(app, client, course):
    """A number of 400 digits used to overflow WTForms' NaN check into a 500."""
    login(client, "coord@lu.example.org")
    form = {key: value for key, value in valid_group(**CLOSED).items() if key != "regions"}
    form.update(regions="lansi-uusimaa", capacity="1" + "0" * 400)
    before = counts(app)
    response = client.post(
        "/staff/groups/new?lang=fi", data={**form, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 422
    assert "Luku on liian suuri." in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_blackout_in_year_9999_is_a_form_error(app, client, course):
    login(client, "coord@lu.example.org")
    response = client.post(
        "/staff/blackouts?lang=fi",
        data={
            "start_date": "9999-12-01",
            "end_date": "9999-12-31",
            "reason": "Loma",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    assert "Valitse päivämäärä väliltä 2000-01-01–2099-12-31." in response.get_data(as_text=True)


def test_moving_a_session_to_year_9999_is_a_form_error(app, client, course):
    with app.app_context():
        session_id = db.session.scalar(select(Session.id).order_by(Session.id))
    login(client, "coord@lu.example.org")
    response = client.post(
        f"/staff/sessions/{session_id}/edit?lang=fi",
        data={
            "day": "9999-12-31",
            "start_time": "23:30",
            "duration_minutes": "90",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    assert "Valitse päivämäärä väliltä" in response.get_data(as_text=True)


# --- JSON bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' * 33 + "1" + "}" * 33,
        '{"capacity": 1' + "0" * 400 + "}",
        '{"capacity": 1e400}',
        '{"capacity": -1e400}',
        '{"capacity": NaN}',
        '{"capacity": Infinity}',
        '{"title_fi": "A\\u0000B"}',
        '{"title\\u0000": "A"}',
    ],
    ids=[
        "nested-100000",
        "nested-33",
        "integer-401-digits",
        "float-overflow",
        "negative-float-overflow",
        "nan",
        "infinity",
        "nul-in-a-string",
        "nul-in-a-key",
    ],
)
def test_a_json_body_beyond_the_limits_is_a_400_in_json(app, client, course, body):
    login(client, "coord@lu.example.org")
    before = counts(app)
    response = client.post("/api/v1/groups", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == 400
    assert counts(app) == before


def test_json_within_the_limits_is_read_as_before(app, client, course):
    login(client, "coord@lu.example.org")
    body = valid_group(description_fi="Rivi 1\n\tRivi 2", capacity=12, extra=[[[1.5]]])
    response = client.post("/api/v1/groups", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["description"]["fi"] == "Rivi 1\n\tRivi 2"
