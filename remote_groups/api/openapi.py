"""The OpenAPI 3.1 document of /api/v1, built from the schemas the views use (``schemas.py``):
the request body from the form that validates it, the answers from the TypedDicts the views
build, the query parameters from the values the views accept."""

from __future__ import annotations

from typing import Any

from remote_groups.api import schemas
from remote_groups.security.input_limits import SUPPORTED_DATES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
_NOT_FOUND = _error("No such group")
_FIRST, _LAST = SUPPORTED_DATES


def _paths() -> dict[str, Any]:
    return {
        "/regions": {
            "get": {"summary": "Welfare regions", "responses": {"200": _json(_ref("RegionList"))}}
        },
        "/groups": {
            "get": {
                "summary": "Remote groups (published ones: a draft is not listed)",
                "parameters": [
                    {"name": name, "in": "query", "schema": {"enum": list(values)}}
                    for name, values in schemas.GROUP_FILTERS.items()
                ],
                "responses": {
                    "200": _json(_ref("GroupList")),
                    "400": _error("Bad filter"),
                },
            },
            "post": {
                "summary": "Create a group (logged-in coordinator or administrator). It is "
                "saved as a draft: not listed, and 404 to the public, until its organizing "
                "region's coordinators publish it on its page",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("GroupInput")}},
                },
                "responses": {
                    "201": _json(_ref("CreatedGroup"), "Created"),
                    "400": _error("Not a JSON object, or one the service does not read"),
                    "401": _error("Not logged in"),
                    "403": _error("Not allowed"),
                    "413": _error("A body larger than the service reads"),
                    "422": _error("Invalid fields, listed in error.fields"),
                },
            },
        },
        "/groups/{slug}": {
            "get": {
                "summary": "One group (a draft: 404, except for the staff who edit it)",
                "parameters": [_SLUG],
                "responses": {"200": _json(_ref("Group")), "404": _NOT_FOUND},
            }
        },
        "/groups/{slug}/sessions": {
            "get": {
                "summary": "A group's sessions, in time order",
                "parameters": [
                    _SLUG,
                    *(
                        {
                            "name": name,
                            "in": "query",
                            "description": "A local date, inclusive",
                            "schema": {"type": "string", "format": "date"},
                        }
                        for name in schemas.SESSION_DATE_FILTERS
                    ),
                ],
                "responses": {
                    "200": _json(_ref("SessionList")),
                    "400": _error(f"Not a date, or outside {_FIRST}…{_LAST}"),
                    "404": _NOT_FOUND,
                },
            }
        },
    }


def openapi_document() -> dict[str, Any]:
    """The document; in an app context (the request body is read off a form)."""
    components = schemas.answer_schemas(
        schemas.Error,
        schemas.RegionList,
        schemas.GroupList,
        schemas.CreatedGroup,
        schemas.SessionList,
    )
    components["GroupInput"] = schemas.form_schema(schemas.group_form({}, region_choices=[]))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "remote_groups API",
            "version": "1",
            "description": "Remote day-activity groups run together by Finnish welfare regions. "
            "Times are ISO 8601 with the Europe/Helsinki offset of their date.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": _paths(),
        "components": {"schemas": dict(sorted(components.items()))},
    }
