"""The OpenAPI 3.1 document of /api/v1, kept beside the views it describes."""

from __future__ import annotations

from typing import Any

_TEXTS = {
    "type": "object",
    "properties": {lang: {"type": ["string", "null"]} for lang in ("fi", "sv", "en")},
}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _items(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref(name)}},
    }


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
_NOT_FOUND = _ok(_ref("Error"), "No such group")


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "remote_groups API",
            "version": "1",
            "description": "Remote day-activity groups run together by Finnish welfare regions. "
            "Times are ISO 8601 with the Europe/Helsinki offset of their date.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/regions": {
                "get": {"summary": "Welfare regions", "responses": {"200": _ok(_items("Region"))}}
            },
            "/groups": {
                "get": {
                    "summary": "Remote groups",
                    "parameters": [
                        {"name": "kind", "in": "query", "schema": {"enum": ["open", "closed"]}},
                        {"name": "language", "in": "query", "schema": {"enum": ["fi", "sv"]}},
                    ],
                    "responses": {
                        "200": _ok(_items("Group")),
                        "400": _ok(_ref("Error"), "Bad filter"),
                    },
                },
                "post": {
                    "summary": "Create a group (logged-in coordinator or administrator)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("GroupInput")}},
                    },
                    "responses": {
                        "201": _ok(_ref("Group"), "Created"),
                        "400": _ok(_ref("Error"), "Not a JSON object"),
                        "401": _ok(_ref("Error"), "Not logged in"),
                        "403": _ok(_ref("Error"), "Not allowed"),
                        "422": _ok(_ref("Error"), "Invalid fields, listed in error.fields"),
                    },
                },
            },
            "/groups/{slug}": {
                "get": {
                    "summary": "One group",
                    "parameters": [_SLUG],
                    "responses": {"200": _ok(_ref("Group")), "404": _NOT_FOUND},
                }
            },
            "/groups/{slug}/sessions": {
                "get": {
                    "summary": "A group's sessions",
                    "parameters": [
                        _SLUG,
                        {
                            "name": "from",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "to",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                        },
                    ],
                    "responses": {
                        "200": _ok(_items("Session")),
                        "400": _ok(_ref("Error"), "Not a date, or outside 2000-01-01…2099-12-31"),
                        "404": _NOT_FOUND,
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Region": {
                    "type": "object",
                    "required": ["slug", "name"],
                    "properties": {"slug": {"type": "string"}, "name": _TEXTS},
                },
                "Group": {
                    "type": "object",
                    "required": ["slug", "kind", "language", "title", "schedule", "regions"],
                    "properties": {
                        "slug": {"type": "string"},
                        "kind": {"enum": ["open", "closed"]},
                        "language": {"enum": ["fi", "sv"]},
                        "title": _TEXTS,
                        "description": _TEXTS,
                        "theme": {"type": ["string", "null"]},
                        "schedule": {
                            "type": "object",
                            "properties": {
                                "weekday": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 6,
                                    "description": "Monday = 0",
                                },
                                "start_time": {"type": "string", "example": "13:00"},
                                "duration_minutes": {"type": "integer"},
                                "timezone": {"type": "string"},
                                "term_start": {"type": "string", "format": "date"},
                                "term_end": {"type": "string", "format": "date"},
                                "skip_holidays": {"type": "boolean"},
                            },
                        },
                        "regions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Region slugs in turn order",
                        },
                        "owner_region": {"type": "string"},
                        "invited_regions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Only in the answer to POST /groups: the regions "
                            "invited, which take part once their own coordinator accepts",
                        },
                        "capacity": {"type": ["integer", "null"]},
                        "application_window": {"type": "object"},
                        "url": {"type": "string", "format": "uri"},
                    },
                },
                "GroupInput": {
                    "type": "object",
                    "required": [
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
                    ],
                    "properties": {
                        "slug": {"type": "string", "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$"},
                        "kind": {"enum": ["open", "closed"]},
                        "language": {"enum": ["fi", "sv"]},
                        "title_fi": {"type": "string"},
                        "title_sv": {"type": "string"},
                        "title_en": {"type": "string"},
                        "meeting_url": {"type": "string", "format": "uri", "pattern": "^https://"},
                        "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
                        "start_time": {"type": "string", "example": "13:00"},
                        "duration_minutes": {"type": "integer", "minimum": 1, "maximum": 480},
                        "term_start": {"type": "string", "format": "date"},
                        "term_end": {"type": "string", "format": "date"},
                        "regions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "minItems": 1,
                            "description": "Region slugs in turn order, the owner among them; "
                            "the others are invited (see invited_regions)",
                        },
                        "owner_region": {
                            "type": "string",
                            "description": "Default: the coordinator's own region (the only one "
                            "a coordinator may give); for an administrator, the first region",
                        },
                        "capacity": {"type": "integer", "minimum": 1},
                        "application_opens": {"type": "string", "format": "date"},
                        "application_closes": {"type": "string", "format": "date"},
                        "skip_holidays": {"type": "boolean", "default": True},
                        "rotation_policy": {
                            "enum": ["round_robin", "week_parity"],
                            "default": "round_robin",
                        },
                    },
                },
                "Session": {
                    "type": "object",
                    "required": ["id", "starts_at", "ends_at", "status", "host_region", "topic"],
                    "properties": {
                        "id": {"type": "integer"},
                        "starts_at": {"type": "string", "format": "date-time"},
                        "ends_at": {"type": "string", "format": "date-time"},
                        "status": {"enum": ["scheduled", "cancelled"]},
                        "host_region": {"type": ["string", "null"]},
                        "topic": {"type": ["string", "null"]},
                        "lead_facilitator": {
                            "type": ["object", "null"],
                            "description": "Only for logged-in staff",
                            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                        },
                    },
                },
            }
        },
    }
