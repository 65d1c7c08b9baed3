"""The query plans and the in-process cost of each list request, on a database seeded by bench/run.py.

    FLASK_SQLALCHEMY_DATABASE_URI=sqlite:///instance/e_bench_l.db .venv/bin/python bench/plans.py
    ... bench/plans.py --profile '/rooms?q=lisb'      # a cProfile of that request (top 25 by own time)
    ... bench/plans.py --phases [--only 'q=']         # where each request's time goes (table, ms)

For each request: its statements, the plan of each (SQLite EXPLAIN QUERY PLAN; PostgreSQL EXPLAIN
ANALYZE), and the best of 5 of its CPU time in this process (time.process_time). It asserts nothing.
"""
import argparse
import collections
import cProfile
import pstats
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402

import web  # noqa: E402
from app import create_app  # noqa: E402
from extensions import db  # noqa: E402

LOGIN = ("staff@atlas-connect.example", "demo-password")
ROWS = {"HX-Request": "true"}
REQUESTS = [
    ("/companies/check-name?name=Zz", "company"),  # the least a signed-in request does
    ("/companies", "company"), ("/companies?sort=-created", "company"), ("/companies?sort=type", "company"),
    ("/companies?sort=-contacts", "company"),
    ("/contacts", "contact"), ("/contacts?sort=-created", "contact"), ("/contacts?q=li", "contact"),
    ("/contacts?q=okaf", "contact"), ("/contacts?q=thistlew", "contact"),
    ("/rooms", "room"), ("/rooms?sort=status", "room"), ("/rooms?q=li", "room"), ("/rooms?q=lisb", "room"),
    ("/rooms?q=kingfish", "room"), ("/rooms?q=kingfisz", "room"),
]


def login(client):
    page = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"email": LOGIN[0], "password": LOGIN[1], "csrf_token": token})
    assert resp.status_code in (302, 303), resp.status_code


def explain(conn, statement, params) -> str:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        depth = {0: 0}
        out = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            out.append("  " * depth[node] + detail)
        return "\n".join(out)
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, params).all()
    return "\n".join(r[0] for r in rows)


def phases(app, client, paths, headers) -> None:
    """Wall time per request in each phase, best of 5 batches of 100 (a noisy machine's spells drop out).
    The phases overlap: "SQLAlchemy" is every Session.execute of the request (the user's query before the
    view too), "driver" the cursor's share of the statements, and "view" holds its statements and rendering."""
    spent = collections.Counter()

    def timed(fn, key):
        def wrapper(*a, **kw):
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[key] += time.perf_counter() - start
        return wrapper

    app.preprocess_request = timed(app.preprocess_request, "before the view")
    app.dispatch_request = timed(app.dispatch_request, "view")
    app.process_response = timed(app.process_response, "after the view")
    web.render_block = timed(web.render_block, "rendering")
    web.render_blocks = timed(web.render_blocks, "rendering")
    from sqlalchemy.orm import Session
    Session.execute = timed(Session.execute, "SQLAlchemy")
    with app.app_context():
        engine = db.engine

    def cursor_starts(conn, *_args):
        conn.info["t0"] = time.perf_counter()

    def cursor_ends(conn, *_args):
        spent["driver"] += time.perf_counter() - conn.info["t0"]

    event.listen(engine, "before_cursor_execute", cursor_starts)
    event.listen(engine, "after_cursor_execute", cursor_ends)
    keys = ["before the view", "view", "SQLAlchemy", "driver", "rendering", "after the view"]
    print("| request | whole (test client) | " + " | ".join(keys) + " |\n|---|" + "---:|" * (len(keys) + 1))
    for path, name in paths:
        for _ in range(50):
            client.get(path, headers=headers(name))
        best = None
        for _ in range(5):
            spent.clear()
            start = time.perf_counter()
            for _ in range(100):
                client.get(path, headers=headers(name))
            row = {"whole": time.perf_counter() - start, **spent}
            best = row if best is None or row["whole"] < best["whole"] else best
        print(f"| `{path}` | " + " | ".join(f"{best.get(k, 0) * 10:.2f}" for k in ["whole"] + keys) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", help="a path to profile instead of the plans")
    parser.add_argument("--only", help="a regular expression: the paths to show")
    parser.add_argument("--phases", action="store_true", help="where each request's time goes, instead of the plans")
    args = parser.parse_args()
    app = create_app()
    client = app.test_client()
    login(client)
    headers = lambda name: {**ROWS, "HX-Target": f"{name}-rows"}  # noqa: E731
    if args.phases:
        phases(app, client, [(p, n) for p, n in REQUESTS if not args.only or re.search(args.only, p)], headers)
        return
    if args.profile:
        name = next((n for p, n in REQUESTS if p.split("?")[0] == args.profile.split("?")[0]), "room")
        for _ in range(3):
            client.get(args.profile, headers=headers(name))
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(20):
            client.get(args.profile, headers=headers(name))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        pstats.Stats(prof).sort_stats("cumtime").print_stats(40)
        return
    with app.app_context():
        engine = db.engine
    for path, name in REQUESTS:
        if args.only and not re.search(args.only, path):
            continue
        seen = []

        def grab(_conn, _cursor, statement, params, *_a):
            seen.append((statement, params))

        event.listen(engine, "before_cursor_execute", grab)
        resp = client.get(path, headers=headers(name))
        event.remove(engine, "before_cursor_execute", grab)
        best = []
        for _ in range(5):
            start = time.process_time()
            client.get(path, headers=headers(name))
            best.append(time.process_time() - start)
        print(f"## {path}  ({resp.status_code}, {len(resp.data)} B fragment, {len(seen)} statements, "
              f"CPU best of 5 {min(best) * 1000:.1f} ms)")
        with engine.connect() as conn:
            for statement, params in seen:
                if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    first = " ".join(statement.split())[:110]
                    print(f"\n    {first}…\n" + "\n".join("    " + line for line in explain(conn, statement, params).splitlines()))
        print()


if __name__ == "__main__":
    main()
