"""The WSGI app the benchmark serves: the portal, plus two references served by the same workers:

- ``/floor/``: a bare Flask route returning a constant 5 KB page (the floor the issue's targets divide by);
- ``/stock/``: the least a signed-in page costs on the stock stack, without the portal: Flask-Login loads
  the person from the portal's own session cookie (same key) with one Flask-SQLAlchemy ORM query, and a
  one-line template shows their name. No CSRF, CSP, rate limit, tenant scope, embed or session checks.

Only here (never in production) every response carries X-Queries, the number of SQL statements
the request ran, counted by a SQLAlchemy event.
"""
from flask import Flask, g, has_request_context, render_template
from flask_login import LoginManager, UserMixin, login_required
from jinja2 import DictLoader
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
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


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_args, **_kw):
    if has_request_context():
        g.bench_queries = g.get("bench_queries", 0) + 1


@portal.after_request
def _query_header(resp):
    resp.headers["X-Queries"] = str(g.get("bench_queries", 0))
    return resp


stock.after_request(_query_header)
application = DispatcherMiddleware(portal.wsgi_app, {"/floor": floor, "/stock": stock})
