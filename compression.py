"""gzip for the answers htmx swaps in: a page of 25 rows is 10–14 KB of markup and 2–3 KB on the wire.

Only what carries no secret is compressed. An answer that put the CSRF token in the page (every full
page and every form does: Flask-WTF keeps the token it made in ``g.csrf_token``) goes out as it is,
because compressing a secret next to text the requester chose (the search term, echoed back) lets an
attacker who can watch the sizes guess the secret a byte at a time (BREACH). A list's rows, its pager
and the inline checks carry none. Streamed answers (CSV export, import progress) and files are left
alone, and so is anything under 1 KB, where gzip saves nothing worth its header.
"""
from __future__ import annotations

import gzip

from flask import Response, g, request

MIN_BYTES = 1024
LEVEL = 5  # zlib's speed and size are both near their best here for 2–20 KB of HTML


def compress(resp: Response) -> Response:
    if (resp.direct_passthrough or resp.is_streamed or resp.status_code < 200 or resp.status_code in (204, 304)
            or "Content-Encoding" in resp.headers or g.get("csrf_token")
            or resp.mimetype not in ("text/html", "text/plain", "application/json")):
        return resp
    resp.vary.add("Accept-Encoding")
    if "gzip" not in request.headers.get("Accept-Encoding", ""):
        return resp
    body = resp.get_data()
    if len(body) < MIN_BYTES:
        return resp
    resp.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    resp.headers["Content-Encoding"] = "gzip"
    return resp
