"""What every domain's service layer shares."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refusal with a message for the person who asked (already translatable), and the form
    field it concerns, if any. Raised before anything is changed."""

    def __init__(self, message: Any, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
