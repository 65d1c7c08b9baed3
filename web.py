"""Request helpers shared by every blueprint: the fragment renderer, list state and write responses."""
from __future__ import annotations

import json

from flask import Flask, current_app, make_response, redirect, render_template, request, url_for
from jinja2_fragments.flask import render_block, render_blocks
from sqlalchemy import Select, event
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from extensions import db
from models import MAX_INT, RuleError, explain


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """A targeted htmx request gets the block; boosted requests and history restores get the page."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(template: str, block: str | list[str], status: int = 200, headers: dict | None = None, **ctx):
    """The block (or blocks) for a targeted htmx request, the full page otherwise."""
    if wants_fragment():
        if isinstance(block, list):
            body = render_blocks(template, block, **ctx)
        else:
            body = render_block(template, block, **ctx)
    else:
        body = render_template(template, **ctx)
    resp = make_response(body, status)
    resp.headers["Vary"] = "HX-Request"
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def done(message: str, events: list[str], fallback: str, status: int = 200, body: str = ""):
    """Answer a successful write.

    htmx: ``body`` (often empty, so an outerHTML swap removes the form or row), a toast,
    and events that other regions listen for to refresh themselves. Plain form: 303.
    """
    if not is_htmx():
        return redirect(fallback, 303)
    resp = make_response(body, status)
    trigger = {"toast": message}
    trigger.update({name: True for name in events})
    resp.headers["HX-Trigger"] = json.dumps(trigger)
    resp.headers["Vary"] = "HX-Request"
    return resp


def form_error(template: str, block: str, err: RuleError, **ctx):
    """Roll back and send the form block again with the message next to its field.

    ``ctx`` may already hold ``form`` and ``errors`` (a screen's defaults): the submitted values
    and the message take their place."""
    db.session.rollback()
    ctx.update(errors={err.field or "_form": err.message}, form=request.form)
    return render(template, block, status=err.status, **ctx)


def parse_int(value, default: int | None = None) -> int | None:
    """An int from a query or form value; ``default`` when it is not one or is out of the
    database's integer range (a 20-digit id would otherwise overflow the driver: a 500)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if abs(number) <= MAX_INT else default


class ListArgs:
    """Parses and whitelists the list state (q, sort, filters, page) and builds every link to it."""

    def __init__(self, sorts: dict, default_sort: str, filters: dict | None = None):
        self.sorts = sorts  # public name -> column
        self.filter_choices = filters or {}  # name -> tuple of allowed values, or int for an id
        args = request.args
        self.q = (args.get("q") or "").strip()[:100]
        sort = args.get("sort") or default_sort
        if sort.lstrip("-") not in sorts:
            sort = default_sort
        self.sort = sort
        self.filters: dict[str, object] = {}
        for name, allowed in self.filter_choices.items():
            value = args.get(name)
            if value in (None, ""):
                continue
            if allowed is int:
                value = parse_int(value)
                if value is not None:
                    self.filters[name] = value
            elif value in allowed:
                self.filters[name] = value
        self.page = max(1, parse_int(args.get("page"), 1))
        cap = current_app.config["MAX_PAGE_SIZE"]
        self.per_page = min(cap, max(1, parse_int(args.get("per_page"), current_app.config["PAGE_SIZE"])))

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def order(self, stmt: Select, tiebreak) -> Select:
        col = self.sorts[self.sort_key]
        return stmt.order_by(col.desc() if self.descending else col.asc(), tiebreak.desc() if self.descending else tiebreak.asc())

    def paginate(self, stmt: Select, tiebreak):
        return db.paginate(self.order(stmt, tiebreak), page=self.page, per_page=self.per_page, error_out=False)

    def params(self, **changes) -> dict:
        params = {"q": self.q, "sort": self.sort, "page": self.page, **self.filters}
        if self.per_page != current_app.config["PAGE_SIZE"]:
            params["per_page"] = self.per_page
        params.update(changes)
        return {k: v for k, v in params.items() if v not in (None, "") and not (k == "page" and v == 1)}

    def url(self, **changes) -> str:
        if any(k != "page" for k in changes):
            changes.setdefault("page", 1)
        return url_for(request.endpoint, **(request.view_args or {}), **self.params(**changes))

    def sort_url(self, key: str) -> str:
        new = f"-{key}" if self.sort == key else key
        return self.url(sort=new)

    def sort_mark(self, key: str) -> str:
        if self.sort_key != key:
            return ""
        return "▼" if self.descending else "▲"

    def aria_sort(self, key: str) -> str:
        if self.sort_key != key:
            return "none"
        return "descending" if self.descending else "ascending"


# ---------------------------------------------------------------- the error boundary


def error_page(status: int, title: str, message: str):
    """An error answer: the message as a toast for htmx, the error page otherwise."""
    ctx = {"status": status, "title": title, "message": message}
    if is_htmx():
        body = render_block("errors/error.html", "error_message", **ctx)
        return body, status, {"HX-Retarget": "#toast", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", **ctx), status


TITLES = {404: "Not found", 409: "Changed meanwhile", 422: "Not possible"}


def database_conflict(exc):
    """A database refusal outside a domain write (at commit, or while rendering): the same words as there.

    (The session is rolled back first: the error page is rendered from a clean transaction.)
    """
    db.session.rollback()
    err = explain(exc)
    if err is None:
        raise exc  # a real fault: the 500 handler answers it
    return error_page(err.status, TITLES.get(err.status, "Not possible"), err.message)


def register_error_boundary(app: Flask) -> None:
    """Database conflicts become answers a person can read, here and nowhere else.

    Inside a domain write, models.guarded already turns them into RuleError, which the
    views show in their form (422 naming the field, 409 when someone else changed it,
    404 when it was deleted meanwhile). Whatever is raised outside one (a commit, a
    render reading a row deleted meanwhile) gets the same words from the same
    models.explain, as an error page or toast.
    """
    for exc_class in (StaleDataError, ObjectDeletedError, IntegrityError, DataError, OperationalError):
        app.register_error_handler(exc_class, database_conflict)
    timeout = app.config.get("SQLITE_BUSY_TIMEOUT_MS")
    with app.app_context():
        engine = db.engine
    if timeout and engine.dialect.name == "sqlite":
        # Concurrent writers on SQLite wait for the write lock instead of failing at once.
        # Listened on this engine, so it runs after (and wins over) any class-wide default.
        @event.listens_for(engine, "connect")
        def _busy_timeout(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(timeout)}")
            cur.close()
