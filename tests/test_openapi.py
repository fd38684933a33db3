"""The OpenAPI document at /api/v1/openapi.json is valid OpenAPI 3.1, every answer it documents
is checked on a real answer of the service, and its request body is the form that validates
POST /api/v1/groups: the same fields, and the same verdict where JSON Schema can say it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.validation.response.exceptions import InvalidData
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import OpenAPIV31SpecValidator
from sqlalchemy import select
from werkzeug.test import TestResponse
from werkzeug.wrappers import Response
from wtforms import DecimalField, IntegerField, StringField
from wtforms.validators import NumberRange, Optional, ValidationError

from remote_groups.api import schemas
from remote_groups.extensions import db
from remote_groups.groups.forms import GroupForm
from remote_groups.groups.models import RemoteGroup
from remote_groups.groups.service import GROUP_FIELDS
from remote_groups.regions.models import User
from remote_groups.security.input_limits import single_line
from tests.conftest import login
from tests.test_api import CLOSED, add_groups, valid_group

Case = Callable[[Flask, FlaskClient], list[TestResponse]]


def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def request_schema(client: FlaskClient) -> dict[str, Any]:
    return document(client)["components"]["schemas"]["GroupInput"]


# --- the document itself ---------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(client):
    errors = list(OpenAPIV31SpecValidator(document(client)).iter_errors())
    assert errors == []


def test_the_document_is_the_same_in_every_language(client):
    """Titles and descriptions come from the form's labels, always in English."""
    english = client.get("/api/v1/openapi.json?lang=en").get_json()
    assert client.get("/api/v1/openapi.json?lang=fi").get_json() == english
    assert client.get("/api/v1/openapi.json?lang=sv").get_json() == english
    assert english["components"]["schemas"]["GroupInput"]["properties"]["slug"]["title"] == (
        "Web address name"
    )


# --- real answers against the documented ones ------------------------------------------------


def sent_request(response: TestResponse) -> WerkzeugOpenAPIRequest:
    """The request of a test client's answer as openapi-core reads it, its body (which the app
    has read) rewound to be read again."""
    response.request.environ["wsgi.input"].seek(0)
    return WerkzeugOpenAPIRequest(response.request)


def assign_lead_facilitator(app: Flask, slug: str) -> None:
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == slug))
        facilitator = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
        group.sessions[0].lead_facilitator = facilitator
        db.session.commit()


def coordinator_posts(client: FlaskClient, *payloads: dict[str, Any]) -> list[TestResponse]:
    login(client, "coord@lu.example.org")
    return [client.post("/api/v1/groups?lang=fi", json=payload) for payload in payloads]


def _groups(app: Flask, client: FlaskClient) -> list[TestResponse]:
    add_groups(app)
    return [client.get("/api/v1/groups"), client.get("/api/v1/groups?kind=closed&language=fi")]


def _one_group(app: Flask, client: FlaskClient) -> list[TestResponse]:
    add_groups(app)
    return [client.get("/api/v1/groups/test-group"), client.get("/api/v1/groups/closed-course")]


def _sessions(app: Flask, client: FlaskClient) -> list[TestResponse]:
    add_groups(app)
    assign_lead_facilitator(app, "test-group")
    public = client.get("/api/v1/groups/test-group/sessions")
    ranged = client.get("/api/v1/groups/closed-course/sessions?from=2027-02-04&to=2027-02-25")
    login(client, "coord@lu.example.org")
    staff = client.get("/api/v1/groups/test-group/sessions")
    assert any(item["lead_facilitator"] for item in staff.get_json()["items"])
    return [public, ranged, staff]


def _bad_session_dates(app: Flask, client: FlaskClient) -> list[TestResponse]:
    path = "/api/v1/groups/test-group/sessions"
    return [client.get(f"{path}?from=tomorrow"), client.get(f"{path}?to=2100-01-01")]


def _created(app: Flask, client: FlaskClient) -> list[TestResponse]:
    open_group = valid_group(description_fi="Kuvaus", theme="Liikunta", reminder_hours="24,2")
    course = valid_group(slug="new-course", **CLOSED)
    return coordinator_posts(client, open_group, course)


def _not_json(app: Flask, client: FlaskClient) -> list[TestResponse]:
    login(client, "coord@lu.example.org")
    return [
        client.post(
            "/api/v1/groups", data="slug=x", content_type="application/x-www-form-urlencoded"
        ),
        client.post("/api/v1/groups", data='["new-group"]', content_type="application/json"),
    ]


def _not_allowed(app: Flask, client: FlaskClient) -> list[TestResponse]:
    other_region = coordinator_posts(client, valid_group(owner_region="varha"))
    login(client, "fac@lu.example.org")
    return [*other_region, client.post("/api/v1/groups", json=valid_group())]


def _too_large(app: Flask, client: FlaskClient) -> list[TestResponse]:
    return coordinator_posts(client, valid_group(description_fi="x" * 1024 * 1024))


def _invalid(app: Flask, client: FlaskClient) -> list[TestResponse]:
    return coordinator_posts(
        client,
        valid_group(weekday=7, duration_minutes=0, slug="Not A Slug", language="en"),
        valid_group(slug="test-group"),
        valid_group(**{**CLOSED, "capacity": None, "application_opens": None}),
    )


# Every answer the document names, by (path, method, status): how to get real ones.
CASES: dict[tuple[str, str, str], Case] = {
    ("/regions", "get", "200"): lambda app, client: [client.get("/api/v1/regions")],
    ("/groups", "get", "200"): _groups,
    ("/groups", "get", "400"): lambda app, client: [
        client.get("/api/v1/groups?kind=public"),
        client.get("/api/v1/groups?language=en"),
    ],
    ("/groups", "post", "201"): _created,
    ("/groups", "post", "400"): _not_json,
    ("/groups", "post", "401"): lambda app, client: [
        client.post("/api/v1/groups", json=valid_group())
    ],
    ("/groups", "post", "403"): _not_allowed,
    ("/groups", "post", "413"): _too_large,
    ("/groups", "post", "422"): _invalid,
    ("/groups/{slug}", "get", "200"): _one_group,
    ("/groups/{slug}", "get", "404"): lambda app, client: [client.get("/api/v1/groups/nope")],
    ("/groups/{slug}/sessions", "get", "200"): _sessions,
    ("/groups/{slug}/sessions", "get", "400"): _bad_session_dates,
    ("/groups/{slug}/sessions", "get", "404"): lambda app, client: [
        client.get("/api/v1/groups/nope/sessions")
    ],
}


def test_every_documented_answer_is_checked_on_a_real_one(client):
    paths = document(client)["paths"]
    documented = {
        (path, method, status)
        for path, operations in paths.items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }
    assert documented == set(CASES)


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
def test_real_answers_match_their_documented_schema(app, client, world, case):
    spec = OpenAPI.from_dict(document(client))
    responses = CASES[case](app, client)
    assert responses
    for response in responses:
        assert response.status_code == int(case[2]), response.get_data(as_text=True)
        assert response.request.path.startswith("/api/v1")
        request = sent_request(response)
        spec.validate_response(request, WerkzeugOpenAPIResponse(response))
        if response.status_code < 300:
            spec.validate_request(request)


def test_an_answer_with_a_key_the_document_does_not_name_fails_the_check(app, client, world):
    """The answers' schemas are closed, so the check above sees an undocumented key."""
    spec = OpenAPI.from_dict(document(client))
    real = client.get("/api/v1/groups/test-group")
    request = sent_request(real)
    spec.validate_response(request, WerkzeugOpenAPIResponse(real))
    changed = Response(json.dumps({**real.get_json(), "extra": 1}), mimetype="application/json")
    with pytest.raises(InvalidData):
        spec.validate_response(request, WerkzeugOpenAPIResponse(changed))


# --- the request body is the form ------------------------------------------------------------


def test_the_request_schema_names_exactly_the_fields_the_form_validates(app, client):
    properties = set(request_schema(client)["properties"])
    with app.test_request_context():
        form_fields = {field.name for field in schemas.group_form({}, region_choices=[])}
    assert properties == form_fields


def test_the_request_schema_names_exactly_the_fields_the_api_stores(client):
    assert set(request_schema(client)["properties"]) == {*GROUP_FIELDS, "regions", "owner_region"}


@pytest.mark.parametrize(
    "field",
    [
        "description_fi",
        "description_sv",
        "description_en",
        "audience_fi",
        "audience_sv",
        "audience_en",
        "theme",
        "reminder_hours",
    ],
)
def test_fields_once_missing_from_the_document_are_in_it_with_their_limits(client, field):
    schema = request_schema(client)["properties"][field]
    assert schema["type"] == "string"
    assert "maxLength" in schema or "pattern" in schema


def test_the_required_fields_are_those_the_form_requires(client):
    assert set(request_schema(client)["required"]) == {
        "slug",
        "kind",
        "language",
        "meeting_url",
        "weekday",
        "start_time",
        "duration_minutes",
        "term_start",
        "term_end",
        "regions",
    }


def test_defaults_are_what_a_missing_key_becomes(client):
    properties = request_schema(client)["properties"]
    defaults = {
        name: schema["default"] for name, schema in properties.items() if "default" in schema
    }
    assert defaults == {
        "skip_holidays": True,
        "rotation_policy": "round_robin",
        "reminder_hours": "24",
    }


class FormWithANewField(GroupForm):
    group_size = IntegerField("Largest group", validators=[Optional(), NumberRange(min=2, max=12)])


def test_a_field_added_to_the_form_is_in_the_document_with_its_rules(app):
    with app.test_request_context():
        schema = schemas.form_schema(
            FormWithANewField(formdata=None, meta={"csrf": False}, region_choices=[])
        )
    assert schema["properties"]["group_size"] == {
        "title": "Largest group",
        "type": "integer",
        "minimum": 2,
        "maximum": 12,
    }
    assert "group_size" not in schema["required"]


def no_tuesdays(form: Any, field: Any) -> None:
    if field.data and "tuesday" in field.data:
        raise ValidationError("Not on Tuesdays.")


class FormWithAnUnknownRule(GroupForm):
    note = StringField("Note", validators=[Optional(), no_tuesdays])


class FormWithAnUnknownFieldType(GroupForm):
    fee = DecimalField("Fee")


class FormWithAnUnknownInlineRule(GroupForm):
    def validate_theme(self, field: Any) -> None:
        if field.data == "secret":
            raise ValidationError("Not that theme.")


class FormWithOwnRulesBetweenFields(GroupForm):
    def validate(self, extra_validators: Any = None) -> bool:
        return super().validate(extra_validators) and self.kind.data == "open"


@pytest.mark.parametrize(
    ("form_class", "named"),
    [
        (FormWithAnUnknownRule, "no_tuesdays"),
        (FormWithAnUnknownFieldType, "DecimalField"),
        (FormWithAnUnknownInlineRule, "validate_theme"),
        (FormWithOwnRulesBetweenFields, "FormWithOwnRulesBetweenFields.validate"),
    ],
    ids=["validator", "field-type", "inline-rule", "rules-between-fields"],
)
def test_a_rule_the_document_cannot_describe_stops_the_document(app, form_class, named):
    """Instead of the rule silently going missing from the document."""
    with app.test_request_context():
        form = form_class(formdata=None, meta={"csrf": False}, region_choices=[])
        with pytest.raises(schemas.UndocumentedRule, match=named):
            schemas.form_schema(form)


# --- the document and the form agree on what they refuse -------------------------------------

# Bodies that the document's request schema can judge, each with the service's verdict: None
# accepted (201), else the field the 422 names.
VERDICTS: dict[str, tuple[dict[str, Any], str | None]] = {
    "open-group": ({}, None),
    "every-field": (
        {
            "title_sv": "Ny grupp",
            "title_en": "New group",
            "description_fi": "Kuvaus",
            "description_sv": "Beskrivning",
            "description_en": "Description",
            "audience_fi": "Kaikille",
            "audience_sv": "Alla",
            "audience_en": "Everyone",
            "theme": "Liikunta",
            "reminder_hours": "24,2",
            "skip_holidays": False,
            "rotation_policy": "week_parity",
            "owner_region": "lansi-uusimaa",
        },
        None,
    ),
    "closed-course": (CLOSED, None),
    "swedish-group": ({"language": "sv", "title_fi": None, "title_sv": "Ny grupp"}, None),
    "limits-reached": ({"duration_minutes": 480, "weekday": 6, "start_time": "9:05"}, None),
    "duration-0": ({"duration_minutes": 0}, "duration_minutes"),
    "duration-481": ({"duration_minutes": 481}, "duration_minutes"),
    "weekday-7": ({"weekday": 7}, "weekday"),
    "weekday-minus-1": ({"weekday": -1}, "weekday"),
    "start-time-25": ({"start_time": "25:00"}, "start_time"),
    "plain-http-meeting-link": ({"meeting_url": "http://meet.example.org/x"}, "meeting_url"),
    "slug-with-capitals": ({"slug": "Not-A-Slug"}, "slug"),
    "slug-too-long": ({"slug": "a" * 81}, "slug"),
    "title-on-two-lines": ({"title_fi": "Uusi\u2028ryhmä"}, "title_fi"),
    "theme-with-a-tab": ({"theme": "a\tb"}, "theme"),
    "reminders-in-words": ({"reminder_hours": "a day before"}, "reminder_hours"),
    "group-language-en": ({"language": "en"}, "language"),
    "unknown-kind": ({"kind": "secret"}, "kind"),
    "unknown-rotation-policy": ({"rotation_policy": "random"}, "rotation_policy"),
    "no-title-in-the-groups-language": ({"title_fi": None}, "title_fi"),
    "swedish-group-with-finnish-title-only": ({"language": "sv"}, "title_sv"),
    "missing-regions": ({"regions": None}, "regions"),
    "empty-regions": ({"regions": []}, "regions"),
    "region-twice": ({"regions": ["varha", "varha"]}, "regions"),
    "closed-course-without-capacity": ({**CLOSED, "capacity": None}, "capacity"),
    "closed-course-with-capacity-0": ({**CLOSED, "capacity": 0}, "capacity"),
    "closed-course-without-application-window": (
        {**CLOSED, "application_opens": None, "application_closes": None},
        "application_closes",
    ),
}


@pytest.mark.parametrize("name", VERDICTS)
def test_the_document_and_the_service_give_the_same_verdict(app, client, world, name):
    overrides, refused_field = VERDICTS[name]
    payload = valid_group(**{key: value for key, value in overrides.items() if value is not None})
    for key in [key for key, value in overrides.items() if value is None]:
        payload.pop(key, None)
    validator = OAS31Validator(request_schema(client), format_checker=oas31_format_checker)
    document_errors = list(validator.iter_errors(payload))

    (response,) = coordinator_posts(client, payload)
    if refused_field is None:
        assert document_errors == []
        assert response.status_code == 201, response.get_data(as_text=True)
    else:
        assert document_errors, f"the document accepts {payload}"
        assert response.status_code == 422
        assert refused_field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    "character", [chr(code) for code in range(0x20)] + ["\x85", "\u2028", "\u2029"]
)
def test_the_one_line_pattern_refuses_what_single_line_refuses(character):
    class Field:
        data = f"a{character}b"

    with pytest.raises(ValidationError):
        single_line(None, Field())
    assert not OAS31Validator({"pattern": schemas.ONE_LINE_PATTERN}).is_valid(Field.data)


@pytest.mark.parametrize("text", ["Uusi ryhmä", "Ny grupp – öppen", "", "a b"])
def test_the_one_line_pattern_accepts_what_single_line_accepts(text):
    class Field:
        data = text

    single_line(None, Field())
    assert OAS31Validator({"pattern": schemas.ONE_LINE_PATTERN}).is_valid(text)
