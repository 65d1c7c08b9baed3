"""Reports: the free-trial report (/reports/trials) and its CSV. Filters live in the URL."""
from datetime import date

from flask import Blueprint, abort, request
from flask_login import current_user, login_required
from sqlalchemy import select

import models
from csv_export import BATCH, stream_csv
from extensions import db
from models import Company, get_or_404
from permissions import can
from listing import parse_int
from web import render

bp = Blueprint("reports", __name__)

CHART_W, CHART_H, CHART_TOP, CHART_BOTTOM = 640, 220, 24, 40


@bp.before_request
@login_required
def require_login():
    if not can(current_user, "reports"):
        abort(404)


def _date(name: str, default: date) -> tuple[date, str | None]:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default, None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return default, f"“{raw}” is not a date like 2026-01-31; showing {default.isoformat()}."
    if not 1970 <= value.year <= 2999:  # the report counts months on from it: year 9999 would run off the calendar
        return default, f"“{raw}” is outside the years 1970 to 2999; showing {default.isoformat()}."
    return value, None


def _filters():
    """company, from and to from the URL: unknown or foreign company 404, a bad date falls back with a note."""
    start, end = models.default_range()
    company_id = parse_int(request.args.get("company"))
    company = get_or_404(Company, company_id) if company_id else None
    start, bad_start = _date("from", start)
    end, bad_end = _date("to", end)
    notes = [n for n in (bad_start, bad_end) if n]
    if start > end:
        notes.append("“From” was after “To”: they were swapped.")
        start, end = end, start
    return company, start, end, notes


def chart(report) -> dict:
    """Bar geometry for the inline SVG: per month a started bar and a converted bar, with their numbers."""
    months = report.months
    top = max([t.started for _, t in months] + [1])
    plot_h = CHART_H - CHART_TOP - CHART_BOTTOM
    slot = (CHART_W - 20) / max(len(months), 1)
    bar = min(18, slot / 2 - 3)
    bars = []
    for i, (month, t) in enumerate(months):
        x = 10 + i * slot + slot / 2 - bar - 1
        for j, (kind, n) in enumerate((("started", t.started), ("converted", t.converted))):
            h = plot_h * n / top
            bars.append({"kind": kind, "n": n, "x": round(x + j * (bar + 2), 1), "y": round(CHART_TOP + plot_h - h, 1),
                         "w": round(bar, 1), "h": round(h, 1), "month": month})
    labels = [{"x": round(10 + i * slot + slot / 2, 1), "text": m.strftime("%b %y")} for i, (m, _) in enumerate(months)]
    return {"w": CHART_W, "h": CHART_H, "base": CHART_H - CHART_BOTTOM, "bars": bars, "labels": labels}


@bp.get("/reports/trials")
def trials():
    company, start, end, notes = _filters()
    report = models.trial_report(company.id if company else None, start, end)
    companies = db.session.execute(select(Company.id, Company.name).order_by(Company.name_key)).all()
    params = {k: v for k, v in {"company": company.id if company else None, "from": start.isoformat(),
                                "to": end.isoformat()}.items() if v}
    return render("reports/trials.html", "trial_report", report=report, chart=chart(report), company=company,
                  companies=companies, notes=notes, params=params)


@bp.get("/reports/trials.csv")
def trials_csv():
    company, start, end, _notes = _filters()
    stmt = models.trial_rooms(company.id if company else None, start, end)

    def rows():
        for room, company_name in db.session.execute(stmt.execution_options(yield_per=BATCH)):
            yield (company_name, room.name, room.product_type, room.status, room.created_at.date(), room.end_date,
                   room.converted_at.date() if room.converted_at else None,
                   models.outcome(room.status, room.end_date, room.converted_at))

    header = ["company", "room", "product_type", "status", "started", "end_date", "converted", "outcome"]
    return stream_csv(f"trials-{start.isoformat()}-{end.isoformat()}.csv", header, rows())
