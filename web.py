"""Request helpers shared by every blueprint: the fragment renderer, list state and write responses."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from flask import Flask, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block, render_blocks
from sqlalchemy import Select, event, func, literal, select, tuple_
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
from werkzeug.exceptions import NotFound

from extensions import db
from locale_format import num
from models import MAX_INT, Reseller, Role, RuleError, explain, get_or_404
from models.search import SEARCH_CAP, clean_term
from url_template import UrlTemplate, with_query


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """A targeted htmx request gets the block; boosted requests and history restores get the page."""
    return is_htmx() and request.headers.get("HX-Boosted") != "true" \
        and request.headers.get("HX-History-Restore-Request") != "true"


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


def done(message: str, events: list[str], fallback: str, status: int = 200, body: str = "", undo: str | None = None,
         changed: str | None = None):
    """Answer a successful write.

    htmx: ``body`` (often empty, so an outerHTML swap removes the form or row), a toast,
    and events that other regions listen for to refresh themselves. Plain form: 303.
    ``undo``: the URL that undoes a destructive write (a Trash restore). The toast then offers
    *Undo* for about 10 seconds (the ``toast-undo`` event, right after ``toast``; static/portal.js).
    ``changed`` is the id of the row the write added or changed ("company-12"): portal.js asks the
    list's refresh to keep it in view (``?show=``, keep_shown) and gives it the focus and a highlight.
    """
    if not is_htmx():
        return redirect(fallback, 303)
    resp = make_response(body, status)
    trigger = {"toast": message}
    if changed:  # before the events: the refreshes they start read it
        trigger["changed"] = changed
    if undo:
        trigger["toast-undo"] = undo
    trigger.update({name: True for name in events})
    resp.headers["HX-Trigger"] = json.dumps(trigger)
    resp.headers["Vary"] = "HX-Request"
    return resp


def render_delete_confirm(thing: str, impact: str, action: str, cancel: str, blocked: str | None = None):
    """The delete confirmation: what goes with the object first, then the button (or why it cannot go)."""
    return render("confirm_delete.html", "delete_confirm", thing=thing, impact=impact, action=action, cancel=cancel,
                  blocked=blocked)


def form_error(template: str, block: str, err: RuleError, **ctx):
    """Roll back and send the form block again with the message next to its field.

    ``ctx`` may already hold ``form`` and ``errors`` (a screen's defaults): the submitted values
    and the message take their place."""
    db.session.rollback()
    ctx.update(errors={err.field or "_form": err.message}, form=request.form)
    return render(template, block, status=err.status, **ctx)


def check_field(template: str, block: str, name: str, check, **ctx):
    """The inline check as the user types: the field's block again, with the save's refusal next to it
    (422) or without one (200). Nothing is saved: a check only reads, and the request's session ends without
    a commit. No rollback here: it would expire the signed-in user, whom the fragment then loads again."""
    value = request.values.get(name, "")
    errors = {}
    try:
        check(value)
    except RuleError as err:
        errors[name] = err.message
    body = render_block(template, block, form={name: value}, errors=errors, **ctx)  # a fragment, htmx or not
    resp = make_response(body, 422 if errors else 200)
    resp.headers["Vary"] = "HX-Request"
    return resp


def check_attrs(url: str) -> dict:
    """The attributes that make a field re-check itself with ``url`` as the user types (macros/forms.html ``extra``)."""
    return {"hx-get": url, "hx-trigger": "input changed delay:400ms", "hx-target": "closest .field",
            "hx-swap": "outerHTML", "hx-sync": "this:replace"}


def parse_int(value, default: int | None = None) -> int | None:
    """An int from a query or form value; ``default`` when it is not one or is out of the
    database's integer range (a 20-digit id would otherwise overflow the driver: a 500)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if abs(number) <= MAX_INT else default


COUNT_CAP = 1000  # a list counts its matches up to here, then says "1,000+"


def _parse_cursor(raw: str | None, python_type) -> tuple | None:
    """``id:value`` from the URL as (id, sort value), or None when it is not one."""
    if not raw:
        return None
    ident, sep, value = raw.partition(":")
    ident = parse_int(ident)
    if ident is None or not sep:
        return None
    try:
        if python_type is bool:
            value = {"1": True, "0": False}[value]
        elif python_type in (int, datetime, date):
            value = python_type(value) if python_type is int else python_type.fromisoformat(value)
            if python_type is int and abs(value) > MAX_INT:
                return None
        else:
            value = value[:200]
    except (KeyError, ValueError):
        return None
    return ident, value


def _cursor_text(ident: int, value) -> str:
    if isinstance(value, bool):
        value = int(value)
    elif isinstance(value, (datetime, date)):
        value = value.isoformat()
    return f"{ident}:{value}"


@dataclass
class ListPage:
    """One page of a list: its rows, whether there are rows before and after it, and how many match
    (exactly up to COUNT_CAP; None when a stale cursor leaves an empty page)."""

    items: list
    has_prev: bool
    has_next: bool
    total: int | None
    prev_args: dict
    next_args: dict
    cap: int = COUNT_CAP  # a search's is models.search.SEARCH_CAP

    @property
    def capped(self) -> bool:
        return self.total is not None and self.total > self.cap

    @property
    def total_label(self) -> str:
        if self.total is None:
            return ""
        return f"{num(self.cap)}+" if self.capped else num(self.total)  # the person's grouping


class ListArgs:
    """Parses and whitelists the list state (q, sort, filters and the page) and builds every link to it.

    Pages: without a search, keyset paging. ``after`` (or ``before``) holds the id and sort value of
    the last (or first) row shown, so each page is one index range read, however deep. A search is
    ordered by relevance first (models.search) and its matches are capped there, so it pages by
    number (``page``) within that bounded set. Either way the matches are counted up to COUNT_CAP."""

    def __init__(self, sorts: dict, default_sort: str, filters: dict | None = None, source=None):
        self.sorts = sorts  # public name -> column
        self.filter_choices = filters or {}  # name -> tuple of allowed values, or int for an id
        args = request.args if source is None else source  # source: the list state sent in a form (bulk actions)
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
        self.page = max(1, parse_int(args.get("page"), 1)) if self.q else 1
        cap = current_app.config["MAX_PAGE_SIZE"]
        self.per_page = min(cap, max(1, parse_int(args.get("per_page"), current_app.config["PAGE_SIZE"])))
        python_type = _python_type(self.sorts[self.sort_key])
        self.after = None if self.q else _parse_cursor(args.get("after"), python_type)
        self.before = None if (self.q or self.after) else _parse_cursor(args.get("before"), python_type)
        self._path = ""  # the list's own path, for url()

    @property
    def searching(self) -> bool:
        """A search with a term (its candidates are capped in models.search), not just a blank or control q."""
        return bool(clean_term(self.q))

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def order(self, stmt: Select, tiebreak, reverse: bool = False) -> Select:
        col = self.sorts[self.sort_key]
        desc = self.descending != reverse
        return stmt.order_by(col.desc() if desc else col.asc(), tiebreak.desc() if desc else tiebreak.asc())

    def paginate(self, stmt: Select, tiebreak) -> ListPage:
        """One query: the page's rows, one more to tell whether another page follows, and the capped
        count of all matches as an uncorrelated scalar subquery (evaluated once).

        ``tiebreak`` is the model's id column: it makes the order total, so a cursor is exact."""
        col = self.sorts[self.sort_key]
        n = self.per_page
        cap = SEARCH_CAP if self.searching else COUNT_CAP
        if cap == SEARCH_CAP and db.session.get_bind().dialect.name == "postgresql":
            # a search's rows are bounded (models.search): counted in the same pass (SQLite is faster without)
            total = func.count().over()
        else:
            matches = stmt.order_by(None).limit(cap + 1).subquery()
            total = select(func.count()).select_from(matches).scalar_subquery()
        query = stmt.add_columns(col, total)
        back = self.before is not None
        if self.q:  # relevance first (the search's order), then the sort: numbered pages of a capped set
            query = self.order(query, tiebreak).offset((self.page - 1) * n)
        else:
            cursor = self.before or self.after
            if cursor is not None:
                ident, value = cursor
                downward = self.descending != back
                key, bound = tuple_(col, tiebreak), tuple_(literal(value, col.type), literal(ident, tiebreak.type))
                query = query.where(key < bound if downward else key > bound)
            query = self.order(query, tiebreak, reverse=back)
        rows = db.session.execute(query.limit(n + 1)).all()
        more = len(rows) > n
        rows = rows[:n]
        if back:
            rows.reverse()
        total_value = rows[0][2] if rows else (0 if (self.page == 1 and self.after is None and not back) else None)
        items = [row[0] for row in rows]
        if self.q:
            has_prev, has_next = self.page > 1, more
            prev_args, next_args = {"page": self.page - 1}, {"page": self.page + 1}
        else:
            has_prev = more if back else self.after is not None
            has_next = True if back else more
            prev_args = {"before": _cursor_text(rows[0][0].id, rows[0][1])} if rows else {}
            next_args = {"after": _cursor_text(rows[-1][0].id, rows[-1][1])} if rows else {}
            has_prev, has_next = has_prev and bool(rows), has_next and bool(rows)
        return ListPage(items, has_prev, has_next, total_value, prev_args, next_args, cap)

    def params(self, **changes) -> dict:
        params = {"q": self.q, "sort": self.sort, **self.filters}
        if self.q and self.page != 1:
            params["page"] = self.page
        elif self.after:
            params["after"] = _cursor_text(*self.after)
        elif self.before:
            params["before"] = _cursor_text(*self.before)
        if self.per_page != current_app.config["PAGE_SIZE"]:
            params["per_page"] = self.per_page
        if any(k in changes for k in ("page", "after", "before")):
            for k in ("page", "after", "before"):
                params.pop(k, None)
        params.update(changes)
        return {k: v for k, v in params.items() if v not in (None, "") and not (k == "page" and v == 1)}

    def url(self, **changes) -> str:
        """This list's URL with ``changes``: the path built once, the query string encoded as url_for does."""
        if any(k not in ("page", "after", "before") for k in changes):
            changes.setdefault("page", 1)  # a new search, sort or filter starts on the first page
        return with_query(self.path, self.params(**changes))

    @property
    def path(self) -> str:
        """The list's own URL without a query string, built once (every sort link and the pager use it)."""
        self._path = self._path or url_for(request.endpoint, **(request.view_args or {}))
        return self._path

    def url_template(self, key: str) -> "UrlTemplate":
        """This list's URL with ``key`` set to each row's id (built once, filled in per row)."""
        return UrlTemplate.of(self.url(**{key: int(UrlTemplate.PLACEHOLDER)}))

    def sort_next(self, key: str) -> str:
        """The sort a click on ``key``'s header asks for: ascending, or descending when it already is."""
        return f"-{key}" if self.sort == key else key

    def sort_url(self, key: str) -> str:
        return self.url(sort=self.sort_next(key))

    def sort_mark(self, key: str) -> str:
        return "" if self.sort_key != key else "▼" if self.descending else "▲"

    def aria_sort(self, key: str) -> str:
        return "none" if self.sort_key != key else "descending" if self.descending else "ascending"


def _python_type(col):
    try:
        return col.type.python_type
    except NotImplementedError:
        return str


def keep_shown(page: ListPage, model, options=()) -> ListPage:
    """``?show=<id>``: the row just added or saved stays in view, first on this page, even where the sort,
    search or paging would put it elsewhere (portal.js asks for it in the refresh after a save)."""
    shown = parse_int(request.args.get("show"))
    if shown is None or any(item.id == shown for item in page.items):
        return page
    try:
        page.items.insert(0, get_or_404(model, shown, options))
    except NotFound:
        pass  # deleted meanwhile, or not this user's to see
    return page


def _is_admin() -> bool:
    return current_user.is_authenticated and current_user.has_role(Role.ADMINISTRATOR)


def admin_resellers() -> list[tuple[int, str]]:
    """(id, name) of every reseller for an administrator (the Reseller column and filter); [] for anyone else."""
    return [tuple(r) for r in db.session.execute(select(Reseller.id, Reseller.name).order_by(Reseller.name))] \
        if _is_admin() else []


def for_reseller(stmt: Select, args: "ListArgs", column) -> Select:
    """An administrator's Reseller filter (``?reseller=<id>``); others see their own tenant anyway."""
    reseller_id = args.filters.get("reseller")
    return stmt.where(column == reseller_id) if reseller_id is not None and _is_admin() else stmt


def render_list(template: str, name: str, **ctx):
    """A list screen: its rows and pager (blocks ``<name>_rows`` and ``<name>_pager``, the pager out of
    band) when htmx targets ``#<name>-rows`` (search, filter, Next/Previous, a refresh), the table
    (``<name>_table``, with its sortable header) for any other htmx request, the page otherwise.
    An administrator's lists also get ``resellers``: their Reseller column and filter."""
    resellers = admin_resellers()
    ctx.update(resellers=resellers, reseller_names=dict(resellers))
    if wants_fragment() and request.headers.get("HX-Target") == f"{name}-rows":
        return render(template, [f"{name}_rows", f"{name}_pager"], oob=True, **ctx)
    return render(template, f"{name}_table", oob=False, **ctx)


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
