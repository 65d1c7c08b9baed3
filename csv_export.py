"""CSV downloads, streamed: ``stream_csv(filename, header, rows)`` answers any list as a CSV file.

``rows`` is any iterable of row tuples (a generator reading the database in batches, e.g. with
``yield_per``), consumed while the response is sent, so a 100k-row export never sits in memory.
The file is UTF-8 with a byte order mark, so a spreadsheet opens accents correctly, and every cell
that a spreadsheet would read as a formula (starting with =, +, -, @, a tab or a carriage return)
gets a leading apostrophe, so it stays text.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from flask import Response, stream_with_context

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500  # rows per chunk sent, and the yield_per that callers use


def cell(value) -> str:
    """One value as CSV text: dates in ISO form, booleans as yes/no, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_chunks(header: list[str], rows: Iterable) -> Iterator[str]:
    """The BOM and header, then the rows, BATCH at a time, as text chunks."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    yield BOM + buf.getvalue()
    buf.seek(0)
    buf.truncate()
    n = 0
    for row in rows:
        writer.writerow([cell(v) for v in row])
        n += 1
        if n % BATCH == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue()


def stream_csv(filename: str, header: list[str], rows: Iterable) -> Response:
    """A streamed CSV download named ``filename``. The request context (and its tenant scope and
    database session) stays open while ``rows`` is read."""
    body = stream_with_context((chunk.encode("utf-8") for chunk in csv_chunks(header, rows)))
    resp = Response(body, mimetype="text/csv")
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp
