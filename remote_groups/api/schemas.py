"""What the API reads and what it answers, declared once for the views and for the OpenAPI
document, so the document cannot drift from the service.

**Input.** ``POST /groups`` is validated by the staff page's :class:`GroupForm` (one rule, one
localized message, see ``groups/forms.py``): :func:`group_form` turns the JSON body into that
form, and :func:`form_schema` reads the request's JSON Schema off the same form object: its
fields, each field's validators and inline ``validate_<field>`` rule, and what a missing key
becomes. A field added to the form is in the document at once; a rule the document has no
description for stops the document with :class:`UndocumentedRule` (and so the API tests)
instead of silently going missing from it.

**Output.** Each answer is one of the ``TypedDict`` classes below, which the views build
(``schemas.Group(...)``); :func:`typed_dict_schema` turns them into the document's response
schemas, closed with ``additionalProperties: false``, so a key added to an answer and not to
its class fails the tests that check real answers against the document.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from datetime import date, time
from enum import Enum
from typing import (
    Annotated,
    Any,
    NotRequired,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    Field,
    Form,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from remote_groups.groups.forms import MAX_TERM_YEARS, GroupForm, https_only
from remote_groups.groups.models import GroupKind, SessionStatus
from remote_groups.security.input_limits import (
    MAX_ID,
    SUPPORTED_DATES,
    database_integer,
    single_line,
    supported_date,
)

JSONSchema = dict[str, Any]


class UndocumentedRule(TypeError):
    """A form field, validator or rule that this module cannot describe in JSON Schema: add it
    to :data:`VALIDATOR_SCHEMAS`, :data:`INLINE_RULES` or :data:`RULES_BETWEEN_FIELDS` (a new
    kind of field, to :func:`_field_type_schema`)."""


class Keywords:
    """JSON Schema keywords that ``Annotated[type, Keywords(...)]`` adds to the type's own."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords


def enum_of(enum: type[Enum]) -> Keywords:
    return Keywords(enum=[member.value for member in enum])


def choice_values(form: type[Form], name: str) -> tuple[Any, ...]:
    """The values of a form field's fixed choices, read off the form class."""
    choices = getattr(form, name).kwargs["choices"]
    return tuple(choice[0] if isinstance(choice, tuple) else choice for choice in choices)


# --- query parameters ------------------------------------------------------------------------

GROUP_LANGUAGES: tuple[str, ...] = choice_values(GroupForm, "language")
# GET /groups?kind=…&language=…: each filter and the values it takes.
GROUP_FILTERS: dict[str, tuple[str, ...]] = {
    "kind": tuple(kind.value for kind in GroupKind),
    "language": GROUP_LANGUAGES,
}
# GET /groups/<slug>/sessions?from=…&to=…: inclusive local dates within SUPPORTED_DATES.
SESSION_DATE_FILTERS = ("from", "to")


def filter_message(name: str) -> str:
    """The API's answer to a GET /groups filter outside its values."""
    return f"{name} must be {' or '.join(GROUP_FILTERS[name])}"


# --- answers ---------------------------------------------------------------------------------

Date = Annotated[str, Keywords(format="date")]
LocalDateTime = Annotated[
    str,
    Keywords(format="date-time", description="ISO 8601 with the Europe/Helsinki offset"),
]


class Names(TypedDict):
    fi: str
    sv: str
    en: str


class Texts(TypedDict):
    fi: str | None
    sv: str | None
    en: str | None


class Region(TypedDict):
    slug: str
    name: Names


class RegionList(TypedDict):
    items: list[Region]


class Schedule(TypedDict):
    weekday: Annotated[int, Keywords(minimum=0, maximum=6, description="Monday = 0")]
    start_time: Annotated[
        str, Keywords(pattern=r"^\d{2}:\d{2}$", examples=["13:00"], description="Local time")
    ]
    duration_minutes: int
    timezone: str
    term_start: Date
    term_end: Date
    skip_holidays: bool


class ApplicationWindow(TypedDict):
    opens: Date | None
    closes: Date | None


class Group(TypedDict):
    slug: str
    kind: Annotated[str, enum_of(GroupKind)]
    language: Annotated[str, Keywords(enum=list(GROUP_LANGUAGES))]
    title: Texts
    description: Texts
    theme: str | None
    schedule: Schedule
    regions: Annotated[list[str], Keywords(description="Region slugs in turn order")]
    owner_region: str
    url: Annotated[str, Keywords(format="uri", description="The group's page")]
    capacity: NotRequired[Annotated[int | None, Keywords(description="Closed courses only")]]
    application_window: NotRequired[
        Annotated[ApplicationWindow, Keywords(description="Closed courses only")]
    ]


class CreatedGroup(Group):
    invited_regions: Annotated[
        list[str],
        Keywords(
            description="The regions invited, which take part once their own coordinator accepts"
        ),
    ]


class GroupList(TypedDict):
    items: list[Group]


class Facilitator(TypedDict):
    id: int
    name: str


class Session(TypedDict):
    id: int
    starts_at: LocalDateTime
    ends_at: LocalDateTime
    status: Annotated[str, enum_of(SessionStatus)]
    host_region: Annotated[str | None, Keywords(description="Slug of the region hosting it")]
    topic: str | None
    lead_facilitator: NotRequired[
        Annotated[Facilitator | None, Keywords(description="Only for logged-in staff")]
    ]


class SessionList(TypedDict):
    items: list[Session]


class ErrorDetail(TypedDict):
    code: Annotated[int, Keywords(description="The HTTP status")]
    message: str
    fields: NotRequired[
        Annotated[
            dict[str, list[str]],
            Keywords(
                description="For each input field refused, its messages in the user's language"
            ),
        ]
    ]


class Error(TypedDict):
    error: ErrorDetail


def _ref(name: str) -> JSONSchema:
    return {"$ref": f"#/components/schemas/{name}"}


def _is_not_required(hint: Any) -> bool:
    """Read off the hint: Python 3.11 leaves ``NotRequired`` keys in ``__required_keys__``
    when annotations are strings (``from __future__ import annotations``)."""
    return get_origin(hint) is NotRequired


def type_schema(hint: Any, components: dict[str, JSONSchema]) -> JSONSchema:
    """The JSON Schema of a type hint; TypedDicts become components, referred to by name."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        schema = type_schema(args[0], components)
        for extra in args[1:]:
            if isinstance(extra, Keywords):
                schema = {**schema, **extra.keywords}
        return schema
    if origin is NotRequired:
        return type_schema(args[0], components)
    if origin in (Union, types.UnionType):
        members = [type_schema(arg, components) for arg in args]
        with_more = [member for member in members if set(member) != {"type"}]
        if all(isinstance(member.get("type"), str) for member in members) and len(with_more) < 2:
            return {**(with_more[0] if with_more else {}), "type": [m["type"] for m in members]}
        return {"anyOf": members}
    if origin is list:
        return {"type": "array", "items": type_schema(args[0], components)}
    if origin is dict and args[0] is str:
        return {"type": "object", "additionalProperties": type_schema(args[1], components)}
    if is_typeddict(hint):
        if hint.__name__ not in components:
            components[hint.__name__] = {}  # taken, for a type that refers to itself
            components[hint.__name__] = typed_dict_schema(hint, components)
        return _ref(hint.__name__)
    simple = {str: "string", int: "integer", bool: "boolean", type(None): "null"}
    if hint in simple:
        return {"type": simple[hint]}
    raise UndocumentedRule(f"no JSON Schema for the type {hint!r}")


def typed_dict_schema(cls: type, components: dict[str, JSONSchema]) -> JSONSchema:
    hints = get_type_hints(cls, include_extras=True)
    total = getattr(cls, "__total__", True)
    return {
        "type": "object",
        "required": [name for name, hint in hints.items() if total and not _is_not_required(hint)],
        "properties": {name: type_schema(hint, components) for name, hint in hints.items()},
        "additionalProperties": False,
    }


def answer_schemas(*classes: type) -> dict[str, JSONSchema]:
    """``components/schemas`` for these answers and every TypedDict they contain."""
    components: dict[str, JSONSchema] = {}
    for cls in classes:
        type_schema(cls, components)
    return components


# --- input -----------------------------------------------------------------------------------

# A missing checkbox means "off" in an HTML form, but a missing JSON key means "default".
API_DEFAULTS: dict[str, Any] = {"skip_holidays": True, "rotation_policy": "round_robin"}


def as_formdata(payload: Mapping[str, Any]) -> MultiDict[str, str]:
    """JSON values to form values, so the API validates exactly as the staff form does: a list
    is the field sent several times, ``true`` a ticked box, ``false`` and ``null`` not sent."""
    pairs: list[tuple[str, str]] = []
    for name, value in payload.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool):
                if item:
                    pairs.append((name, "y"))
            elif item is not None:
                pairs.append((name, str(item)))
    return MultiDict(pairs)


def group_form(payload: Mapping[str, Any], region_choices: list[tuple[str, str]]) -> GroupForm:
    """The form that validates a ``POST /groups`` body (and, in the document, describes it)."""
    return GroupForm(
        formdata=as_formdata({**API_DEFAULTS, **payload}),
        meta={"csrf": False},
        region_choices=region_choices,
    )


# What ``strptime("%H:%M")`` reads: an hour 0–23 and a minute 0–59, each of one or two digits.
TIME_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5]?[0-9]$"
# What ``single_line`` lets through (tests/test_openapi.py checks both on every such character).
ONE_LINE_PATTERN = r"^[^\x00-\x1f\x85\u2028\u2029]*$"
# The JSON Schema that each validator of a documented form stands for, besides WTForms' own
# (:func:`_validator_schema`).
VALIDATOR_SCHEMAS: dict[Callable[..., Any], JSONSchema] = {
    single_line: {"pattern": ONE_LINE_PATTERN},
    https_only: {"format": "uri", "pattern": "^https://"},
    database_integer: {"minimum": -MAX_ID, "maximum": MAX_ID},
    supported_date: {
        "description": f"From {SUPPORTED_DATES[0]} to {SUPPORTED_DATES[1]}.",
    },
}


def _validator_schema(validator: Any) -> JSONSchema:
    if isinstance(validator, DataRequired | InputRequired | Optional):
        return {}
    if isinstance(validator, Length):
        return {
            **({"minLength": validator.min} if validator.min > 0 else {}),
            **({"maxLength": validator.max} if validator.max >= 0 else {}),
        }
    if isinstance(validator, NumberRange):
        return {
            **({"minimum": validator.min} if validator.min is not None else {}),
            **({"maximum": validator.max} if validator.max is not None else {}),
        }
    if isinstance(validator, Regexp):
        pattern = validator.regex.pattern
        return {"pattern": pattern if pattern.startswith("^") else f"^(?:{pattern})"}
    if isinstance(validator, Email):
        return {"format": "email"}
    try:
        return VALIDATOR_SCHEMAS[validator]
    except (KeyError, TypeError):
        raise UndocumentedRule(f"no JSON Schema for the validator {validator!r}") from None


class InlineRule(TypedDict):
    """What a form's ``validate_<field>`` method checks, in JSON Schema."""

    schema: JSONSchema
    required: bool


INLINE_RULES: dict[Callable[..., Any], InlineRule] = {
    GroupForm.validate_weekday: {
        "schema": {"minimum": 0, "maximum": 6, "description": "Monday = 0."},
        "required": False,
    },
    GroupForm.validate_term_end: {
        "schema": {
            "description": f"Not before term_start, at most {MAX_TERM_YEARS} years after it."
        },
        "required": False,
    },
    GroupForm.validate_regions: {
        "schema": {
            "minItems": 1,
            "uniqueItems": True,
            "description": "Region slugs in turn order, the owner among them; the others are "
            "invited (see invited_regions in the answer).",
        },
        "required": True,
    },
    GroupForm.validate_owner_region: {
        "schema": {
            "description": "A region slug. Default: the coordinator's own region (the only one "
            "a coordinator may give); for an administrator, the first region.",
        },
        "required": False,
    },
}


def _own_title_rule(language: str) -> JSONSchema:
    title = f"title_{language}"
    return {
        "if": {"required": ["language"], "properties": {"language": {"const": language}}},
        "then": {"required": [title], "properties": {title: {"minLength": 1}}},
    }


# What a form's own ``validate`` adds to its fields' rules: JSON Schema where it can say it,
# else a description.
RULES_BETWEEN_FIELDS: dict[Callable[..., Any], JSONSchema] = {
    GroupForm.validate: {
        "description": "A title in the group's own language. A closed course also needs "
        "capacity and an application period (application_opens, application_closes), which "
        "cannot close before it opens.",
        "allOf": [
            *(_own_title_rule(language) for language in GROUP_LANGUAGES),
            {
                "if": {
                    "required": ["kind"],
                    "properties": {"kind": {"const": GroupKind.closed.value}},
                },
                "then": {"required": ["capacity", "application_opens", "application_closes"]},
            },
        ],
    },
}


def _choices(field: SelectField) -> list[Any]:
    if isinstance(field.choices, Mapping):
        raise UndocumentedRule(f"{field.name}: grouped choices")
    return [
        field.coerce(choice[0] if isinstance(choice, tuple) else choice)
        for choice in field.choices or ()
    ]


def _choice_schema(field: SelectField) -> JSONSchema:
    schema: JSONSchema = {"type": "integer" if field.coerce is int else "string"}
    if field.validate_choice and field.choices:
        schema["enum"] = _choices(field)
    return schema


def _field_type_schema(field: Field) -> JSONSchema:
    if isinstance(field, BooleanField):
        return {"type": "boolean"}
    if isinstance(field, IntegerField):
        return {"type": "integer"}
    if isinstance(field, DateField) and field.format == ["%Y-%m-%d"]:
        return {"type": "string", "format": "date"}
    if isinstance(field, TimeField) and field.format == ["%H:%M"]:
        return {"type": "string", "pattern": TIME_PATTERN, "examples": ["13:00"]}
    if isinstance(field, SelectMultipleField):
        item = _choice_schema(field)
        return {"type": "array", "items": item}
    if isinstance(field, SelectField):
        return _choice_schema(field)
    if type(field).process_formdata is StringField.process_formdata:
        return {"type": "string"}
    raise UndocumentedRule(f"{field.name}: no JSON Schema for {type(field).__name__}")


def _merge(schema: JSONSchema, extra: JSONSchema) -> JSONSchema:
    """Both schemas' constraints: the tighter bound, every pattern, the descriptions joined."""
    merged = dict(schema)
    for key, value in extra.items():
        if key not in merged:
            merged[key] = value
        elif key in ("minimum", "minLength", "minItems"):
            merged[key] = max(merged[key], value)
        elif key in ("maximum", "maxLength", "maxItems"):
            merged[key] = min(merged[key], value)
        elif key == "description":
            merged[key] = f"{merged[key]} {value}"
        elif key == "pattern" and merged[key] != value:
            merged["allOf"] = [*merged.get("allOf", []), {"pattern": value}]
        elif merged[key] != value:
            raise UndocumentedRule(f"two values for {key}: {merged[key]!r} and {value!r}")
    return merged


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


def _field_schema(form: Form, field: Field) -> tuple[JSONSchema, bool]:
    """A field's JSON Schema, and whether the key is required."""
    schema = _field_type_schema(field)
    required = False
    for validator in field.validators:
        required |= isinstance(validator, DataRequired | InputRequired)
        schema = _merge(schema, _validator_schema(validator))
    inline = getattr(type(form), f"validate_{field.name}", None)
    if inline is not None:
        if inline not in INLINE_RULES:
            raise UndocumentedRule(f"{type(form).__name__}.validate_{field.name}")
        schema = _merge(schema, INLINE_RULES[inline]["schema"])
        required |= INLINE_RULES[inline]["required"]
    if not required and field.data not in (None, "", []):
        schema["default"] = _json_value(field.data)
    descriptions = [str(text) for text in (field.description, schema.get("description")) if text]
    return {
        "title": str(field.label.text),
        **schema,
        **({"description": " ".join(descriptions)} if descriptions else {}),
    }, required


def form_schema(form: Form) -> JSONSchema:
    """The JSON Schema of a JSON body that ``form`` validates (built with an empty body, so that
    each field's data is what a missing key becomes), in English."""
    rules: JSONSchema = {}
    validate = type(form).validate
    if validate is not Form.validate:
        if validate not in RULES_BETWEEN_FIELDS:
            raise UndocumentedRule(f"{validate.__qualname__}")
        rules = RULES_BETWEEN_FIELDS[validate]
    properties: dict[str, JSONSchema] = {}
    required: list[str] = []
    with force_locale("en"):
        for field in form:
            properties[field.name], is_required = _field_schema(form, field)
            if is_required:
                required.append(field.name)
    return {"type": "object", "required": required, "properties": properties, **rules}
