"""The WSGI app the benchmark serves: the portal, plus two references served by the same workers:

- ``/floor/``: a bare Flask route returning a constant 5 KB page (the floor the issue's targets divide by);
- ``/stock/``: the least a signed-in page costs on the stock stack, without the portal: Flask-Login loads
  the person from the portal's own session cookie (same key) with one Flask-SQLAlchemy ORM query, and a
  one-line template shows their name. No CSRF, CSP, rate limit, tenant scope, embed or session checks.
- ``/sketch/rooms?q=``: the issue's "lean Flask sketch" of a room search, as near as it can be told: no
  sign-in (the reseller is fixed), one SQLAlchemy Core statement on the search index (SQLite FTS5, or
  PostgreSQL pg_trgm) for the reseller's rooms whose name or meeting link contains the term, by name, 25
  of them, no count, no company, no relevance, each row an f-string. What the portal's search does on top
  of it is what a person needs of it (bench/README.md: "the cost ladder").

Only here (never in production) every response carries X-Queries, the number of SQL statements
the request ran, counted by a SQLAlchemy event.
"""
from flask import Flask, g, has_request_context, render_template, request
from markupsafe import escape
from flask_login import LoginManager, UserMixin, login_required
from jinja2 import DictLoader
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app import create_app

FLOOR_BODY = ("<!doctype html><html><head><title>floor</title></head><body><table>"
              + "".join(f"<tr><td>row {i}</td><td>{'x' * 40}</td></tr>" for i in range(90)) + "</table></body></html>")
FLOOR_BODY = FLOOR_BODY[:5120 - 22] + "</table></body></html>"  # 5 KB

floor = Flask("floor")


@floor.get("/")
def constant_page():
    return FLOOR_BODY


portal = create_app()

stock = Flask("stock")
stock.config.update(SECRET_KEY=portal.config["SECRET_KEY"],
                    SQLALCHEMY_DATABASE_URI=portal.config["SQLALCHEMY_DATABASE_URI"])
stock.jinja_env.loader = DictLoader(
    {"page.html": "<p>Signed in as {{ current_user.first_name }} {{ current_user.last_name }}</p>"})
stock_db = SQLAlchemy(stock)
stock_login = LoginManager(stock)


class StockUser(UserMixin, stock_db.Model):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str]
    last_name: Mapped[str]


@stock_login.user_loader
def stock_user(user_id: str):
    return stock_db.session.get(StockUser, int(user_id.partition(":")[0]))  # the portal's id is "id:epoch"


@stock.get("/")
@login_required
def stock_page():
    return render_template("page.html")


sketch = Flask("sketch")
sketch_engine = create_engine(portal.config["SQLALCHEMY_DATABASE_URI"])
SKETCH_SQL = {
    "sqlite": text("SELECT r.id, r.name, r.status, r.end_date FROM rooms_fts f JOIN rooms r ON r.id = f.rowid "
                   "WHERE rooms_fts MATCH :match AND r.reseller_id = :rid ORDER BY r.name_key LIMIT 25"),
    # MATERIALIZED: the matches first, through the trigram indexes (left to itself, the planner walks the
    # reseller's rooms in name order and tests each: 240 ms p50 at size L)
    "postgresql": text("WITH m AS MATERIALIZED (SELECT id, name, status, end_date, name_key FROM rooms "
                       "WHERE reseller_id = :rid AND (name_key LIKE :like OR slug LIKE :like)) "
                       "SELECT id, name, status, end_date FROM m ORDER BY name_key LIMIT 25"),
}


def _main_reseller() -> int:
    with sketch_engine.connect() as conn:
        return conn.execute(text("SELECT id FROM resellers WHERE name = 'Atlas Connect'")).scalar() or 0


SKETCH_RESELLER = _main_reseller()


@sketch.get("/rooms")
def sketch_rooms():
    term = (request.args.get("q") or "").strip().lower()[:100]
    if len(term) < 3:  # a trigram needs 3 characters; the sketch answers only what its index can
        return ""
    like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with sketch_engine.connect() as conn:
        rows = conn.execute(SKETCH_SQL[conn.dialect.name],
                            {"match": '"' + term.replace('"', '""') + '"', "like": like, "rid": SKETCH_RESELLER}).all()
    return "".join(f'<tr id="room-{r.id}"><th><a href="/rooms/{r.id}/edit">{escape(r.name)}</a><td>{r.status}'
                   f"<td>{r.end_date or ''}\n" for r in rows)


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_args, **_kw):
    if has_request_context():
        g.bench_queries = g.get("bench_queries", 0) + 1


@portal.after_request
def _query_header(resp):
    resp.headers["X-Queries"] = str(g.get("bench_queries", 0))
    return resp


stock.after_request(_query_header)
sketch.after_request(_query_header)
application = DispatcherMiddleware(portal.wsgi_app, {"/floor": floor, "/stock": stock, "/sketch": sketch})
