"""Row links built once per render: a URL with a placeholder id, filled in per row (no url_for per row)."""
from flask import url_for


class UrlTemplate:
    """A URL built once per render with a placeholder id, then filled in per row by a string replace
    (instead of one url_for per row and link)."""

    PLACEHOLDER = "2147483647"

    def __init__(self, endpoint: str, key: str, **values):
        self.url = url_for(endpoint, **{key: int(self.PLACEHOLDER)}, **values)

    @classmethod
    def of(cls, url: str) -> "UrlTemplate":
        made = cls.__new__(cls)
        made.url = url
        return made

    def __call__(self, ident) -> str:
        return self.url.replace(self.PLACEHOLDER, str(int(ident)))
