"""Load the portal's list endpoints at two data sizes and print a table. Never asserts.

    .venv/bin/python bench/run.py                       # S (--companies 200) and L (20000) on SQLite
    .venv/bin/python bench/run.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/e_bench
    .venv/bin/python bench/run.py --sizes S --duration 3   # a quick look
    .venv/bin/python bench/run.py --repeat 3               # 3 rounds of every endpoint: each one's median run

For each size it seeds a database (or reuses it when the scale data set is there), serves
``bench.wsgi`` under gunicorn (2 sync workers), logs in as the reseller user, and loads each
endpoint from loopback at concurrency 8 with keep-alive for a fixed time: wrk when installed,
else a Python load generator (threads, http.client keep-alive). The floor is a bare Flask route
returning a constant 5 KB page, served by the same workers.
"""
from __future__ import annotations

import argparse
import gzip
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SIZES = {"S": 200, "L": 20000}
LOGIN = ("staff@atlas-connect.example", "demo-password")
TERMS = {"rooms": ("li", "lisb", "kingfish"), "contacts": ("li", "okaf", "thistlew")}
# A term that matches nothing at either size (a typo of a rare one): the cost of a search without its rows,
# so that the growth from S to L of the other terms can be told apart from the rows they show.
MISS = "kingfisz"


def database_url(base: str, size: str) -> str:
    if base.startswith("sqlite"):
        path = base.split(":///", 1)[1]
        stem, ext = os.path.splitext(path)
        return f"sqlite:///{stem}_{size.lower()}{ext or '.db'}"
    return f"{base}_{size.lower()}"


def ensure_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def flask(url: str, *args: str, check=True) -> subprocess.CompletedProcess:
    env = {**os.environ, "FLASK_SQLALCHEMY_DATABASE_URI": url}
    return subprocess.run([PY, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, check=check)


def seeded(url: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM resellers WHERE name = 'Atlas Connect'")).first() is not None
    except Exception:
        return False
    finally:
        engine.dispose()


def prepare(url: str, companies: int) -> str:
    if url.startswith("postgresql"):
        ensure_postgres_database(url)
    flask(url, "db", "upgrade")
    if seeded(url):
        return "reused"
    start = time.perf_counter()
    result = flask(url, "seed", "scale", "--companies", str(companies), check=False)
    if result.returncode:
        sys.exit(result.stderr or result.stdout)
    return f"seeded in {time.perf_counter() - start:.1f} s"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, workers: int):
        self.port = free_port()
        env = {**os.environ, "FLASK_SQLALCHEMY_DATABASE_URI": url, "FLASK_SECRET_KEY": os.urandom(16).hex(),
               "FLASK_PUBLIC_URL": "http://127.0.0.1", "FLASK_RATELIMIT_LOGIN": "1000 per minute"}
        self.proc = subprocess.Popen(
            [str(Path(PY).parent / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--keep-alive", "30",
             "--log-level", "warning", "bench.wsgi:application"],
            cwd=ROOT, env=env)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def worker_rss_mb(self) -> float:
        out = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid", str(self.proc.pid)], capture_output=True, text=True).stdout
        sizes = [int(line.split()[1]) for line in out.splitlines() if line.strip()]
        return max(sizes) / 1024 if sizes else 0.0

    def worker_cpu_seconds(self) -> float:
        """User + system CPU time of the workers so far: unlike latency, not inflated by other processes' load."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True).stdout
        total = 0
        for pid in out.split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def request(port: int, path: str, headers: dict | None = None, method="GET", body: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def login(port: int) -> str:
    resp, data = request(port, "/login")
    cookie = resp.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', data) or re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', data)
    body = urllib.parse.urlencode({"email": LOGIN[0], "password": LOGIN[1], "csrf_token": token.group(1).decode()})
    resp, _ = request(port, "/login", {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, "POST", body)
    if resp.status not in (302, 303):
        raise RuntimeError(f"login failed: {resp.status}")
    return resp.getheader("Set-Cookie", "").split(";")[0] or cookie


def run_wrk(port: int, path: str, headers: dict, seconds: float, concurrency: int) -> dict:
    args = ["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run(args + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout

    def ms(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50"), "p99": ms("99"),
            "errors": int(errors.group(1)) if errors else 0}


def run_python(port: int, path: str, headers: dict, seconds: float, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if resp.status >= 400:
                errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / seconds, "p50": q[49], "p99": q[98], "errors": errors[0]}


def endpoints(room_id: int) -> list[tuple[str, str, str | None]]:
    """(label, path, htmx target): active search sends htmx requests for the list's rows (HX-Target, as
    the search box and the pager do) and gets the fragment; None is a full page."""
    out = [("floor (bare Flask, 5 KB)", "/floor/", None),
           # the stock stack signed in (Flask-Login, one ORM query, a template), without the portal (bench/wsgi.py)
           ("stock Flask signed in (reference)", "/stock/", None),
           # the lean sketch of a search (bench/wsgi.py): not signed in, one statement, 25 rows by name
           (f"lean sketch, rooms q={TERMS['rooms'][1]}, not signed in (reference)", f"/sketch/rooms?q={TERMS['rooms'][1]}", None),
           # the least a signed-in request costs: session, user, scope and headers, one small query and render
           ("signed in, least work (name check)", "/companies/check-name?name=Zz", None)]
    for resource, (short, mid, rare) in TERMS.items():
        for term in (short, mid, rare):
            out.append((f"{resource} q={term}", f"/{resource}?q={term}", f"{resource[:-1]}-rows"))
    out.append((f"rooms q={MISS} (no match)", f"/rooms?q={MISS}", "room-rows"))
    out.append(("companies list", "/companies", "company-rows"))
    out.append(("room edit", f"/rooms/{room_id}/edit", None))
    return out


def pick_room(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rid = conn.execute(text(
            "SELECT r.id FROM rooms r JOIN resellers s ON s.id = r.reseller_id AND s.name = 'Atlas Connect' "
            "WHERE r.product_type = 'team room' AND (SELECT count(*) FROM hostings h WHERE h.room_id = r.id) >= 2 "
            "ORDER BY r.id LIMIT 1 OFFSET 100")).scalar()
    engine.dispose()
    return rid


def measure(size: str, url: str, args) -> tuple[str, list[dict]]:
    note = prepare(url, args.companies or SIZES[size])
    server = Server(url, args.workers)
    results = []
    try:
        cookie = login(server.port)
        load = run_wrk if shutil.which("wrk") and not args.python_load else run_python
        probes = []
        for label, path, target in endpoints(pick_room(url)):
            headers = {"Cookie": cookie, "Accept-Encoding": "gzip"}  # as every browser sends it
            frag_headers = {**headers, "HX-Request": "true", "HX-Target": target} if target else headers
            resp, wire = request(server.port, path, frag_headers)
            frag = gzip.decompress(wire) if resp.getheader("Content-Encoding") == "gzip" else wire
            _, page = request(server.port, path, {"Cookie": cookie})
            htmx = target is not None
            load(server.port, path, frag_headers, 1, args.concurrency)  # warm up
            probes.append({"label": label, "path": path, "headers": frag_headers, "status": resp.status,
                           "frag": len(frag) if htmx else None, "wire": len(wire) if htmx else None,
                           "page": len(page), "queries": resp.getheader("X-Queries") or "-", "runs": [],
                           "rows": frag.count(b'<tr id="') if htmx else None})
        # With --repeat, every endpoint is loaded once per round, round after round, so that a slow spell
        # of the machine falls on different endpoints' runs rather than on all runs of one endpoint.
        for _ in range(args.repeat):
            for probe in probes:
                cpu = server.worker_cpu_seconds()
                stats = load(server.port, probe["path"], probe["headers"], args.duration, args.concurrency)
                cpu = server.worker_cpu_seconds() - cpu
                stats["cpu"] = cpu * 1000 / max(1, stats["rps"] * round(args.duration))
                probe["runs"].append(stats)
                probe.setdefault("rss", server.worker_rss_mb())  # the largest worker RSS after its first run
        for probe in probes:
            runs = probe.pop("runs")
            stats = sorted(runs, key=lambda r: r["p50"])[len(runs) // 2]  # the run of the median p50
            probe.pop("path"), probe.pop("headers")
            results.append({**probe, **stats})
            print(f"  {size} {probe['label']}: {stats['rps']:.0f} req/s, p50 {stats['p50']:.1f} ms", file=sys.stderr)
    finally:
        server.stop()
    return note, results


def _or_dash(value) -> str:
    return "-" if value is None else str(value)


def table(size: str, note: str, rows: list[dict]) -> str:
    floor = rows[0]
    lines = [f"\n### {size} ({note})\n",
             "| endpoint | req/s | ×floor | p50 ms | ×floor | p99 ms | ×floor | worker CPU ms/req | ×floor "
             "| rows | fragment B | on the wire B | % of page | page B | queries | worker RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        flag = "" if r["status"] == 200 and not r["errors"] else f" ({r['status']}, {r['errors']} errors)"
        lines.append(
            f"| {r['label']}{flag} "
            f"| {r['rps']:.0f} | {r['rps'] / floor['rps']:.2f} | {r['p50']:.1f} | {r['p50'] / floor['p50']:.1f} "
            f"| {r['p99']:.1f} | {r['p99'] / floor['p99']:.1f} | {r['cpu']:.2f} | {r['cpu'] / floor['cpu']:.1f} "
            f"| {_or_dash(r['rows'])} | {_or_dash(r['frag'])} | {_or_dash(r['wire'])} "
            f"| {'%.0f' % (100 * r['wire'] / r['page']) if r['wire'] is not None else '-'} "
            f"| {r['page']} | {r['queries']} | {r['rss']:.0f} |")
    return "\n".join(lines)


def growth(small: list[dict], large: list[dict]) -> str:
    lines = ["\n### Growth L/S\n", "| endpoint | p50 L/S | req/s L/S | CPU ms/req L/S | rows S → L | queries S → L | RSS L/S |",
             "|---|---:|---:|---:|---|---|---:|"]
    for s, l in zip(small, large):
        lines.append(f"| {s['label']} | {l['p50'] / s['p50']:.2f} | {l['rps'] / s['rps']:.2f} | {l['cpu'] / s['cpu']:.2f} | "
                     f"{_or_dash(s['rows'])} → {_or_dash(l['rows'])} | "
                     f"{s['queries']} → {l['queries']} | {l['rss'] / s['rss']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"sqlite:///{ROOT / 'instance' / 'e_bench.db'}",
                        help="base URL; the size is appended to the database name (e_bench_s, e_bench_l)")
    parser.add_argument("--sizes", default="S,L")
    parser.add_argument("--companies", type=int, help="override the size's company count")
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds: load every endpoint once per round, then report each one's run of median p50 "
                             "(a VM's slow spells then fall on different endpoints)")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk is there")
    args = parser.parse_args()
    (ROOT / "instance").mkdir(exist_ok=True)
    sizes = [s.strip().upper() for s in args.sizes.split(",")]
    load = "wrk" if shutil.which("wrk") and not args.python_load else "python (threads, http.client keep-alive)"
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {os.cpu_count()} CPUs · "
          f"{args.database_url.split(':')[0]} · gunicorn {args.workers} sync workers · load: {load}, "
          f"concurrency {args.concurrency}, {args.duration:g} s per endpoint")
    measured = {}
    for size in sizes:
        note, rows = measure(size, database_url(args.database_url, size), args)
        measured[size] = rows
        print(table(size, note, rows), flush=True)
    if "S" in measured and "L" in measured:
        print(growth(measured["S"], measured["L"]))


if __name__ == "__main__":
    main()
