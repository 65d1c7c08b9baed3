"""The WSGI app the benchmark serves: the portal, plus a bare Flask route (the floor) at /floor/.

Only here (never in production) every response carries X-Queries, the number of SQL statements
the request ran, counted by a SQLAlchemy event.
"""
from flask import Flask, g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
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


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_args, **_kw):
    if has_request_context():
        g.bench_queries = g.get("bench_queries", 0) + 1


@portal.after_request
def _query_header(resp):
    resp.headers["X-Queries"] = str(g.get("bench_queries", 0))
    return resp


application = DispatcherMiddleware(portal.wsgi_app, {"/floor": floor})
