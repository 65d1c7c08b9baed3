"""Validators for form input: each returns the clean value or raises RuleError naming the field."""
from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from .errors import RuleError
from .schema import NAME_MAX

def clean_name(value: str | None, field: str = "name", label: str = "Name") -> str:
    value = (value or "").strip()
    if not value:
        raise RuleError(f"{label} is required.", field)
    if len(value) > NAME_MAX:
        raise RuleError(f"{label} must be at most {NAME_MAX} characters (it has {len(value)}).", field)
    if any(unicodedata.category(c) == "Cc" for c in value):  # names go into mail and page text as one line
        raise RuleError(f"{label} must be on one line, without tabs or other control characters.", field)
    return value


def clean_choice(value: str | None, choices: tuple[str, ...], field: str, label: str) -> str:
    if value not in choices:
        raise RuleError(f"{label} must be one of: {', '.join(choices)}.", field)
    return value


def clean_email(value: str | None) -> str:
    """A syntactically valid address, lower-cased. No DNS lookup (the mail it gets checks it); .test is allowed."""
    value = (value or "").strip().lower()
    if not value:
        raise RuleError("Email is required.", "email")
    try:
        checked = validate_email(value, check_deliverability=False, allow_quoted_local=False,
                                 allow_domain_literal=False, allow_display_name=False,
                                 globally_deliverable=False, test_environment=True)
    except (EmailNotValidError, ValueError):
        raise RuleError("Enter a valid email address, like name@example.com.", "email")
    email = checked.normalized.lower()
    if len(email) > 254 or "." not in checked.domain:
        raise RuleError("Enter a valid email address, like name@example.com.", "email")
    return email


def clean_int(value, field: str, label: str, lo: int, hi: int, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except (TypeError, ValueError, OverflowError):
        raise RuleError(f"{label} must be a whole number.", field)
    if not lo <= n <= hi:
        raise RuleError(f"{label} must be between {lo} and {hi}.", field)
    return n
