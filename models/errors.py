"""The one exception the domain raises when a rule blocks an action."""
from __future__ import annotations


class RuleError(Exception):
    """A domain rule blocked an action. ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
