"""The free-trial report: trial and demo rooms by company and start date, and what became of them.

A room counts as a trial when it is a trial or demo now, or was one and became paid (``converted_at``,
set below whenever a room's status changes from trial or demo to paid, by any write). Each room is
counted in the month it started (its created date): started, then converted, expired (its end date
has passed) or still running. The conversion rate is converted / started.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import event, or_, select

from extensions import db

from .schema import Company, Room, RoomStatus, today, utcnow

TRIAL_STATUSES = (RoomStatus.TRIAL.value, RoomStatus.DEMO.value)
OUTCOMES = ("converted", "expired", "running")


@event.listens_for(Room.status, "set", active_history=True)
def _record_conversion(room, value, oldvalue, _initiator):
    """Trial or demo → paid: converted now. Paid → trial or demo again: no longer converted."""
    if value == RoomStatus.PAID and oldvalue in TRIAL_STATUSES:
        room.converted_at = utcnow()
    elif value in TRIAL_STATUSES and oldvalue == RoomStatus.PAID:
        room.converted_at = None


def outcome(status: str, end_date: date | None, converted_at: datetime | None) -> str:
    if converted_at is not None and status == RoomStatus.PAID:
        return "converted"
    if end_date is not None and end_date < today():
        return "expired"
    return "running"


@dataclass
class Tally:
    started: int = 0
    converted: int = 0
    expired: int = 0
    running: int = 0

    def add(self, result: str) -> None:
        self.started += 1
        setattr(self, result, getattr(self, result) + 1)

    @property
    def rate(self) -> float | None:
        return self.converted / self.started if self.started else None

    @property
    def rate_label(self) -> str:
        return "–" if self.rate is None else f"{round(self.rate * 100)}%"


@dataclass
class TrialReport:
    start: date
    end: date
    months: list[tuple[date, Tally]]
    total: Tally = field(default_factory=Tally)
    by_company: list[tuple[int, str, Tally]] = field(default_factory=list)


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def default_range() -> tuple[date, date]:
    """The last 12 months: from the first day of the month 11 months ago to today."""
    now = today()
    return add_months(month_start(now), -11), now


def trial_rooms(company_id: int | None, start: date, end: date):
    """The trial and demo rooms (and converted ones) started between ``start`` and ``end``, both included,
    with their company's name, oldest first. A statement: the tenant scope applies when it runs."""
    stmt = (select(Room, Company.name).join(Company, Room.company_id == Company.id)
            .where(or_(Room.status.in_(TRIAL_STATUSES), Room.converted_at.is_not(None)),
                   Room.created_at >= datetime.combine(start, datetime.min.time()),
                   Room.created_at < datetime.combine(end + timedelta(days=1), datetime.min.time()))
            .order_by(Room.created_at, Room.id))
    if company_id:
        stmt = stmt.where(Room.company_id == company_id)
    return stmt


def trial_report(company_id: int | None, start: date, end: date) -> TrialReport:
    """Totals for the range, per company, and per month for the last 12 months of the range."""
    first = max(month_start(start), add_months(month_start(end), -11))
    months: dict[date, Tally] = {}
    m = first
    while m <= end:
        months[m] = Tally()
        m = add_months(m, 1)
    report = TrialReport(start, end, list(months.items()))
    companies: dict[int, tuple[str, Tally]] = {}
    cols = (Room.company_id, Company.name, Room.created_at, Room.status, Room.end_date, Room.converted_at)
    stmt = trial_rooms(company_id, start, end).with_only_columns(*cols)
    for cid, name, created, status, end_date, converted_at in db.session.execute(stmt):
        result = outcome(status, end_date, converted_at)
        report.total.add(result)
        companies.setdefault(cid, (name, Tally()))[1].add(result)
        tally = months.get(month_start(created.date()))
        if tally is not None:
            tally.add(result)
    report.by_company = sorted(((cid, name, t) for cid, (name, t) in companies.items()), key=lambda r: r[1].lower())
    return report
