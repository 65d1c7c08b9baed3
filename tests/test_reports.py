"""The free-trial report on a known data set, with "now" frozen: totals, per month, by company, the
filters in the URL, the inline SVG chart, its CSV, and rooms.converted_at."""
import csv
import io
import re
from datetime import datetime

import pytest

import models
from extensions import db

from . import factories
from .conftest import AuthActions, page_text
from .test_csv_export import fetch

NOW = datetime(2026, 6, 15, 12, 0)


@pytest.fixture
def data(frozen_now, app):
    """Reseller R (trial 14 days, demo 7): companies Alpha and Beta.
    Alpha: T1 trial 2026-01-10, converted 2026-01-20; D1 demo 2026-01-20, ended 2026-01-27 (expired).
    Beta:  T2 trial 2026-03-05, converted 2026-04-01; T3 trial 2026-06-10, ends 2026-06-24 (running).
    Not counted: P1 created paid (Alpha, 2026-06-12); T0 trial 2025-04-01 (before the last 12 months)."""
    frozen_now(datetime(2025, 4, 1, 9, 0))
    r = factories.reseller("Report Reseller")
    staff = factories.staff(r, "staff@report.example")
    alpha, beta = factories.company(r, "Alpha"), factories.company(r, "Beta")
    factories.room(alpha, "T0", status="trial")
    rooms = {}
    for name, company, status, at in [("T1", alpha, "trial", (2026, 1, 10)), ("D1", alpha, "demo", (2026, 1, 20)),
                                      ("T2", beta, "trial", (2026, 3, 5)), ("T3", beta, "trial", (2026, 6, 10)),
                                      ("P1", alpha, "paid subscriber", (2026, 6, 12))]:
        frozen_now(datetime(*at, 10, 0))
        rooms[name] = factories.room(company, name, status=status)
    for name, at in [("T1", (2026, 1, 20)), ("T2", (2026, 4, 1))]:
        frozen_now(datetime(*at, 11, 0))
        room = rooms[name]
        models.update_room(room, {"name": room.name, "product_type": room.product_type, "status": "paid subscriber"})
        db.session.commit()
    frozen_now(NOW)
    other = factories.reseller("Other Reseller")
    factories.room(factories.company(other, "Elsewhere"), "Foreign trial")
    return type("Data", (), {"reseller": r, "staff": staff, "alpha": alpha, "beta": beta, "rooms": rooms})


@pytest.fixture
def staff_client(app, data):
    c = app.test_client()
    AuthActions(c).login(data.staff.email)
    return c


def totals(resp) -> dict:
    body = resp.get_data(as_text=True)
    return dict(re.findall(r'<dd data-total="(\w+)">([^<]*)</dd>', body))


def month_rows(resp) -> dict:
    body = resp.get_data(as_text=True)
    out = {}
    for month, cells in re.findall(r'<tr data-month="([\d-]+)">(.*?)</tr>', body, re.S):
        out[month] = re.findall(r"<td>([^<]*)</td>", cells)
    return out


def test_converted_at_is_set_when_a_trial_becomes_paid(data):
    t1, p1, t3 = data.rooms["T1"], data.rooms["P1"], data.rooms["T3"]
    assert t1.converted_at == datetime(2026, 1, 20, 11, 0)
    assert p1.converted_at is None and t3.converted_at is None  # created paid; still a trial
    models.update_room(t1, {"name": t1.name, "product_type": t1.product_type, "status": "trial"})
    db.session.commit()
    assert t1.converted_at is None  # back on trial: no longer converted


def test_totals_per_month_and_by_company(staff_client, data):
    resp = staff_client.get("/reports/trials")
    assert resp.status_code == 200
    assert totals(resp) == {"started": "4", "converted": "2", "expired": "1", "running": "1", "rate": "50%"}
    months = month_rows(resp)
    assert list(months) == [f"2025-{m:02d}" for m in range(7, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]
    assert months["2026-01"] == ["2", "1", "1", "0", "50%"]
    assert months["2026-03"] == ["1", "1", "0", "0", "100%"]
    assert months["2026-04"] == ["0", "0", "0", "0", "–"]  # converted in April, counted in its start month
    assert months["2026-06"] == ["1", "0", "0", "1", "0%"]
    text = page_text(resp)
    assert re.search(r"Alpha</a></th><td>2</td><td>1</td><td>1</td><td>0</td><td>50%</td>", text)
    assert re.search(r"Beta</a></th><td>2</td><td>1</td><td>0</td><td>1</td><td>50%</td>", text)
    shown = re.sub(r"<[^>]+>", " ", text)  # what the page shows: a random token in an attribute may hold "T0"
    assert "Elsewhere" not in shown and not re.search(r"\bT0\b", shown)


def test_filters_live_in_the_url(staff_client, data):
    resp = staff_client.get(f"/reports/trials?company={data.beta.id}")
    assert totals(resp) == {"started": "2", "converted": "1", "expired": "0", "running": "1", "rate": "50%"}
    resp = staff_client.get("/reports/trials?from=2026-03-01&to=2026-06-30")
    assert totals(resp)["started"] == "2"
    assert list(month_rows(resp)) == ["2026-03", "2026-04", "2026-05", "2026-06"]
    resp = staff_client.get("/reports/trials?from=2025-01-01&to=2025-12-31")
    assert totals(resp) == {"started": "1", "converted": "0", "expired": "1", "running": "0", "rate": "0%"}  # T0
    assert len(month_rows(resp)) == 12
    resp = staff_client.get("/reports/trials?from=junk")
    assert resp.status_code == 200 and "is not a date like" in page_text(resp)
    for far in ("9999-12-01", "9999-12-31", "0001-01-01"):  # the calendar's ends: a note, never a 500
        resp = staff_client.get(f"/reports/trials?to={far}")
        assert resp.status_code == 200 and "is outside the years 1970 to 2999" in page_text(resp), far
    frag = staff_client.get(f"/reports/trials?company={data.alpha.id}", htmx=True)
    assert "<html" not in frag.get_data(as_text=True) and 'id="trial-report"' in frag.get_data(as_text=True)


def test_chart_is_inline_svg_readable_without_colour(staff_client, data):
    body = staff_client.get("/reports/trials").get_data(as_text=True)
    svg = body[body.index("<svg"):body.index("</svg>")]
    assert 'role="img"' in svg and "<title id=\"trial-chart-title\">Trials started and converted per month</title>" in svg
    assert "January 2026: 2 started, 1 converted." in svg
    assert "Started (hatched)" in svg and "Converted (solid)" in svg and 'fill="url(#hatch)"' in svg
    assert svg.count('data-kind="started"') == 12 and svg.count('data-kind="converted"') == 12
    assert "<script" not in svg
    assert 'id="trial-months"' in body  # the numbers also in a table


def test_trials_csv(staff_client, data):
    resp = fetch(staff_client, "/reports/trials.csv")
    assert resp.get_data().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["company", "room", "product_type", "status", "started", "end_date", "converted", "outcome"]
    assert [(r[0], r[1], r[7]) for r in rows[1:]] == [("Alpha", "T1", "converted"), ("Alpha", "D1", "expired"),
                                                      ("Beta", "T2", "converted"), ("Beta", "T3", "running")]
    assert rows[1][6] == "2026-01-20" and rows[4][5] == "2026-06-24"


def test_owner_sees_their_company_only_and_host_none(app, data):
    owner = factories.owner(data.beta)
    c = app.test_client()
    AuthActions(c).login(owner.email)
    resp = c.get("/reports/trials")
    assert totals(resp)["started"] == "2" and "Alpha" not in page_text(resp)
    assert c.get(f"/reports/trials?company={data.alpha.id}").status_code == 404
    host = factories.contact(data.beta)
    h = app.test_client()
    AuthActions(h).login(host.email)
    assert h.get("/reports/trials").status_code == 404
    assert h.get("/reports/trials.csv").status_code == 404
    assert "Reports" not in page_text(h.get("/my-rooms"))


def test_reports_in_the_menu_for_resellers(staff_client, data):
    assert '>Reports</a>' in staff_client.get("/companies").get_data(as_text=True)


def test_another_resellers_company_is_404(app, data):
    other = factories.staff(factories.reseller("Third"), "third@x.example")
    c = app.test_client()
    AuthActions(c).login(other.email)
    assert c.get(f"/reports/trials?company={data.alpha.id}").status_code == 404
    assert totals(c.get("/reports/trials"))["started"] == "0"
