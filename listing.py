"""Lists: the list state from the URL (search, sort, filters, the page), one page of rows and every link to it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app, request, url_for
from sqlalchemy import Select, func, literal, select, tuple_
from sqlalchemy.sql.util import find_tables
from werkzeug.exceptions import NotFound

from extensions import db
from locale_format import num
from models import MAX_INT, get_or_404
from models.search import SEARCH_CAP, clean_term
from url_template import UrlTemplate, with_query


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

    def paginate(self, stmt: Select, tiebreak, load=None) -> ListPage:
        """One query: the page's rows, one more to tell whether another page follows, and the capped
        count of all matches as an uncorrelated scalar subquery (evaluated once).

        ``tiebreak`` is the model's id column: it makes the order total, so a cursor is exact.
        ``load`` adds what the rows are shown with (their companies, joined and loaded with them). On
        PostgreSQL a search picks its page before that (``_page_first``)."""
        load = load or (lambda query: query)
        col = self.sorts[self.sort_key]
        n = self.per_page
        cap = SEARCH_CAP if self.searching else COUNT_CAP
        postgres = db.session.get_bind().dialect.name == "postgresql"
        back = self.before is not None
        if cap == SEARCH_CAP and postgres and _only_on(col, tiebreak):
            query = self._page_first(stmt, tiebreak, load)
        else:
            stmt = load(stmt)
            if cap == SEARCH_CAP and postgres:
                # a search's rows are bounded (models.search): counted in the same pass (SQLite is faster without)
                total = func.count().over()
            else:
                # only the ids: SQLite then counts through an index, not the rows the page shows
                matches = stmt.with_only_columns(tiebreak).order_by(None).limit(cap + 1).subquery()
                total = select(func.count()).select_from(matches).scalar_subquery()
            query = stmt.add_columns(col, total)
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
            query = query.limit(n + 1)
        rows = db.session.execute(query).all()
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

    def _page_first(self, stmt: Select, tiebreak, load) -> Select:
        """A search on PostgreSQL, in one statement: first the page's ids and sort keys, with the count of
        all matches, from the candidates alone (no join, narrow rows through the count and the sort); then
        those 26 rows with what ``load`` adds, in the same order. Joining every candidate to its company
        before the sort cost 1.3-2 ms of the server's time per search at size L (460 candidates)."""
        n = self.per_page
        page = (self.order(stmt.with_only_columns(tiebreak.label("pid"), self.sorts[self.sort_key].label("pkey"),
                                                  func.count().over().label("ptotal")), tiebreak)
                .offset((self.page - 1) * n).limit(n + 1).subquery("page"))
        query = load(select(tiebreak.class_).join(page, tiebreak == page.c.pid)).add_columns(page.c.pkey, page.c.ptotal)
        relevance = stmt._order_by_clauses  # the search's own order (models.search), before the list's sort
        return self.order(query.order_by(*relevance), tiebreak).execution_options(**stmt.get_execution_options())

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


def _only_on(col, tiebreak) -> bool:
    """The sort column is the listed model's own (not its company's name, say)."""
    tables = set(find_tables(getattr(col, "expression", col), check_columns=True)) - {None}  # (None: a literal)
    return tables <= {tiebreak.class_.__table__}


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
