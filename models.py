"""Typed models and the domain rules of SPEC §2.

Every write to companies, contacts, rooms and hosting goes through the
functions at the bottom of this module (create/update/delete/link...), so the
rules, the audit trail and (later) the trash live in one place. Views catch
RuleError and show its message next to the named field.

Tenant scoping: the Scope in effect (see ``scope_for`` and ``_apply_scope``)
filters every ORM SELECT of a tenant model by one ``with_loader_criteria``
hook, so no view can forget it.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from flask import g, has_request_context
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    event,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, with_loader_criteria
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db

COMPANY_TYPES = ("Reseller", "Business", "Education", "Healthcare", "Government", "Non-profit")
CUSTOMER_STATUSES = ("prospect", "customer")
PRODUCT_TYPES = ("personal room", "team room")
ROOM_STATUSES = ("demo", "trial", "paid subscriber")
CONTACT_STATES = ("live", "suspended")
STORED_ROLES = ("administrator", "reseller", "owner")
NAME_MAX = 120
EXPIRING_SOON_DAYS = 7


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def today() -> date:
    return utcnow().date()


class RuleError(Exception):
    """A domain rule blocked an action. ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def _enum_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


# ---------------------------------------------------------------- models


class Reseller(db.Model):
    __tablename__ = "resellers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    trial_days: Mapped[int] = mapped_column(Integer, default=14)
    demo_days: Mapped[int] = mapped_column(Integer, default=7)
    brand_color: Mapped[str] = mapped_column(String(7), default="#2f6fde")
    logo_url: Mapped[str | None] = mapped_column(String(500))
    # Allowed partner origins for the embed, one per line.
    embed_origins: Mapped[str] = mapped_column(Text, default="")
    embed_secret: Mapped[str] = mapped_column(String(100), default=lambda: secrets.token_urlsafe(32))
    embed_secret_previous: Mapped[str | None] = mapped_column(String(100))
    embed_secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped to end every embed session of this reseller at once.
    embed_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        CheckConstraint("trial_days BETWEEN 1 AND 365", name="trial_days_range"),
        CheckConstraint("demo_days BETWEEN 1 AND 365", name="demo_days_range"),
    )

    @property
    def origins(self) -> list[str]:
        return [o for o in (self.embed_origins or "").split() if o]

    @property
    def own_company(self) -> "Company | None":
        return db.session.execute(
            select(Company).where(Company.reseller_id == self.id, Company.type == "Reseller")
        ).scalars().first()


class Company(db.Model):
    __tablename__ = "companies"
    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # lower-cased name: backs the case-insensitive unique rule and search.
    name_key: Mapped[str] = mapped_column(String(NAME_MAX))
    type: Mapped[str] = mapped_column(String(20), default="Business")
    status: Mapped[str] = mapped_column(String(20), default="prospect")
    branded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    reseller: Mapped[Reseller] = relationship()
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("reseller_id", "name_key"),
        _enum_check("type", COMPANY_TYPES, "type_known"),
        _enum_check("status", CUSTOMER_STATUSES, "status_known"),
        CheckConstraint("length(name) BETWEEN 1 AND 120", name="name_length"),
    )

    def __str__(self) -> str:
        return self.name


class Contact(UserMixin, db.Model):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Both null only for administrators (vendor staff belong to no company).
    reseller_id: Mapped[int | None] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    first_name: Mapped[str] = mapped_column(String(NAME_MAX))
    last_name: Mapped[str] = mapped_column(String(NAME_MAX))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    # Stored roles, space separated and sorted ("owner reseller"). Host is derived from hosting.
    role_names: Mapped[str] = mapped_column(String(60), default="")
    state: Mapped[str] = mapped_column(String(10), default="live")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Bumped to end every other session of this contact (password set, suspend).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    company: Mapped[Company | None] = relationship()
    reseller: Mapped[Reseller | None] = relationship()
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("id", "company_id"),
        _enum_check("state", CONTACT_STATES, "state_known"),
        CheckConstraint(
            "(company_id IS NOT NULL AND reseller_id IS NOT NULL) OR role_names = 'administrator'",
            name="company_unless_admin",
        ),
    )

    # -- roles
    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.role_names.split())

    @roles.setter
    def roles(self, value) -> None:
        unknown = set(value) - set(STORED_ROLES)
        if unknown:
            raise RuleError(f"Unknown role: {', '.join(sorted(unknown))}.", "roles")
        self.role_names = " ".join(sorted(set(value)))

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self) -> str:
        return self.name

    # -- login
    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: suspended contacts cannot log in
        return self.state == "live"

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"


class Room(db.Model):
    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    name_key: Mapped[str] = mapped_column(String(NAME_MAX), index=True)
    product_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    end_date: Mapped[date | None] = mapped_column(Date, index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    max_participants: Mapped[int] = mapped_column(Integer, default=25)
    pin: Mapped[str | None] = mapped_column(String(10))
    lobby: Mapped[bool] = mapped_column(Boolean, default=False)
    recording: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    company: Mapped[Company] = relationship()
    hostings: Mapped[list["Hosting"]] = relationship(
        back_populates="room", order_by="Hosting.linked_at, Hosting.id", passive_deletes=True
    )
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("id", "company_id", "product_type"),
        _enum_check("product_type", PRODUCT_TYPES, "product_type_known"),
        _enum_check("status", ROOM_STATUSES, "status_known"),
        CheckConstraint("status = 'paid subscriber' OR end_date IS NOT NULL", name="end_date_unless_paid"),
        CheckConstraint("max_participants BETWEEN 2 AND 1000", name="max_participants_range"),
        CheckConstraint("length(name) BETWEEN 1 AND 120", name="name_length"),
    )

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return not self.suspended and (
            self.status == "paid subscriber" or (self.end_date is not None and self.end_date >= today())
        )

    @property
    def days_left(self) -> int | None:
        if self.status == "paid subscriber" or self.end_date is None:
            return None
        return (self.end_date - today()).days

    @property
    def expiring_soon(self) -> bool:
        left = self.days_left
        return left is not None and 0 <= left <= EXPIRING_SOON_DAYS

    @property
    def days_left_label(self) -> str:
        """"12 days left", "1 day left", "ends today", "ended", or "" for a room without an end date."""
        left = self.days_left
        if left is None:
            return ""
        if left < 0:
            return "ended"
        if left == 0:
            return "ends today"
        return f"{left} day{'' if left == 1 else 's'} left"

    @property
    def owner(self) -> "Contact | None":
        return next((h.contact for h in self.hostings if h.is_owner), None)

    @classmethod
    def live_clause(cls):
        return and_(
            cls.suspended.is_(False),
            or_(cls.status == "paid subscriber", cls.end_date >= today()),
        )


class Hosting(db.Model):
    """Links a contact to a room: the contact is a Host of it.

    company_id and room_type are copies that let the database itself enforce
    "same company" (composite foreign keys) and "a personal room has at most
    one Host" (a partial unique index).
    """

    __tablename__ = "hostings"
    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(Integer)
    room_id: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[int] = mapped_column(Integer, index=True)
    room_type: Mapped[str] = mapped_column(String(20))
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    room: Mapped[Room] = relationship(back_populates="hostings", foreign_keys=[room_id], primaryjoin="Hosting.room_id == Room.id")
    contact: Mapped[Contact] = relationship(foreign_keys=[contact_id], primaryjoin="Hosting.contact_id == Contact.id")
    __table_args__ = (
        ForeignKeyConstraint(
            ["room_id", "company_id", "room_type"],
            ["rooms.id", "rooms.company_id", "rooms.product_type"],
            ondelete="CASCADE",
            onupdate="CASCADE",
            name="fk_hostings_room_same_company",
        ),
        ForeignKeyConstraint(
            ["contact_id", "company_id"],
            ["contacts.id", "contacts.company_id"],
            ondelete="CASCADE",
            name="fk_hostings_contact_same_company",
        ),
        UniqueConstraint("room_id", "contact_id"),
        Index("uq_hostings_one_owner", "room_id", unique=True,
              sqlite_where=text("is_owner"), postgresql_where=text("is_owner")),
        Index("uq_hostings_one_personal_host", "room_id", unique=True,
              sqlite_where=text("room_type = 'personal room'"),
              postgresql_where=text("room_type = 'personal room'")),
    )


class AuditEvent(db.Model):
    """Who did what, when, and what changed from what to what."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reseller_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[str] = mapped_column(Text, default="{}")


class OutboxMessage(db.Model):
    """Mail written in the same transaction as the change; delivered after commit."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    recipients: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


class PasswordToken(db.Model):
    """Single-use password link. Only the token's SHA-256 is stored."""

    __tablename__ = "password_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # welcome | reset
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class EmbedTokenUse(db.Model):
    """jti of every embed sign-in token used, kept until the token expires."""

    __tablename__ = "embed_token_uses"
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


# ---------------------------------------------------------------- scoping

TENANT_MODELS = (Company, Contact, Room, Hosting)


@dataclass(frozen=True)
class Scope:
    """What the signed-in person may see. ``everything`` is the administrator's."""

    reseller_id: int | None = None
    company_id: int | None = None
    everything: bool = False


DENY = Scope(reseller_id=-1, company_id=-1)


def scope_for(user) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False):
        return DENY
    if user.has_role("administrator"):
        return Scope(everything=True)
    if user.has_role("reseller"):
        return Scope(reseller_id=user.reseller_id)
    return Scope(reseller_id=user.reseller_id, company_id=user.company_id)


def current_scope() -> Scope | None:
    """The scope of this request; outside a request (CLI, tests' setup) nothing is filtered."""
    if not has_request_context():
        return None
    return g.get("scope", DENY)


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state) -> None:
    if not state.is_select or state.execution_options.get("unscoped"):
        return
    scope = current_scope()
    if scope is None or scope.everything:
        return
    rid, cid = scope.reseller_id, scope.company_id
    opts = [
        with_loader_criteria(model, lambda cls: cls.reseller_id == rid, include_aliases=True)
        for model in TENANT_MODELS
    ]
    if cid is not None:
        opts.append(with_loader_criteria(Company, lambda cls: cls.id == cid, include_aliases=True))
        opts += [
            with_loader_criteria(model, lambda cls: cls.company_id == cid, include_aliases=True)
            for model in (Contact, Room, Hosting)
        ]
    state.statement = state.statement.options(*opts)


MAX_INT = 2**31 - 1  # ids are INTEGER columns (PostgreSQL int4)


def get_or_404(model, ident):
    """The scoped object with this id, or 404. Never Session.get (it skips the scope)."""
    from flask import abort

    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < ident <= MAX_INT:  # beyond the id column's range: no such row (and no driver overflow)
        abort(404)
    obj = db.session.execute(select(model).where(model.id == ident)).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


# ---------------------------------------------------------------- audit and changes


def _actor_id() -> int | None:
    if has_request_context():
        from flask_login import current_user

        real = g.get("real_user")  # "view as": the person acting, not the one viewed
        if real is not None:
            return real.id
        if current_user and current_user.is_authenticated:
            return current_user.id
    return None


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def audit(action: str, obj, summary: str = "", changes: dict | None = None) -> None:
    db.session.add(
        AuditEvent(
            actor_id=_actor_id(),
            reseller_id=getattr(obj, "reseller_id", None) if not isinstance(obj, Reseller) else obj.id,
            action=action,
            object_type=type(obj).__name__,
            object_id=obj.id,
            summary=summary[:300],
            changes=json.dumps(changes or {}, default=str),
        )
    )


def apply_changes(obj, data: dict) -> dict:
    """Set fields on obj and return {field: [old, new]} for the ones that changed."""
    diff = {}
    for key, value in data.items():
        old = getattr(obj, key)
        if old != value:
            diff[key] = [_plain(old), _plain(value)]
            setattr(obj, key, value)
    return diff


def check_version(obj, submitted) -> None:
    """Optimistic locking: a stale form answers 409 and says what changed."""
    if submitted in (None, ""):
        return
    try:
        submitted = int(submitted)
    except (TypeError, ValueError):
        raise RuleError("This form is out of date. Reload and try again.", status=409)
    if submitted != obj.version:
        raise RuleError(
            f"{type(obj).__name__} “{obj}” was changed by someone else while you were editing. "
            "Reload to see the current values, then make your change again.",
            status=409,
        )


# ---------------------------------------------------------------- validation helpers


def clean_name(value: str | None, field: str = "name", label: str = "Name") -> str:
    value = (value or "").strip()
    if not value:
        raise RuleError(f"{label} is required.", field)
    if len(value) > NAME_MAX:
        raise RuleError(f"{label} must be at most {NAME_MAX} characters (it has {len(value)}).", field)
    if any(unicodedata.category(c) == "Cc" for c in value):  # names go into mail and page text as one line
        raise RuleError(f"{label} must be on one line, without tabs or other control characters.", field)
    return value


def clean_choice(value: str | None, choices: tuple[str, ...], field: str, label: str) -> str:
    if value not in choices:
        raise RuleError(f"{label} must be one of: {', '.join(choices)}.", field)
    return value


# No separators, brackets or quotes either: a stored address is always exactly one mail recipient.
_EMAIL_CHAR = r'[^@\s,;<>()\[\]\\"\x00-\x1f\x7f]'
EMAIL_RE = re.compile(rf"^{_EMAIL_CHAR}+@{_EMAIL_CHAR}+\.{_EMAIL_CHAR}+$")


def clean_email(value: str | None) -> str:
    value = (value or "").strip().lower()
    if not value:
        raise RuleError("Email is required.", "email")
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise RuleError("Enter a valid email address, like name@example.com.", "email")
    return value


# ---------------------------------------------------------------- companies


def company_name_taken(reseller_id: int, name: str, exclude_id: int | None = None) -> bool:
    stmt = select(Company.id).where(Company.reseller_id == reseller_id, Company.name_key == name.lower())
    if exclude_id:
        stmt = stmt.where(Company.id != exclude_id)
    return db.session.execute(stmt.execution_options(unscoped=True)).first() is not None


def _company_fields(data: dict, reseller_id: int, exclude_id: int | None = None) -> dict:
    name = clean_name(data.get("name"))
    if company_name_taken(reseller_id, name, exclude_id):
        raise RuleError(f"A company named “{name}” already exists (names ignore case).", "name")
    return {
        "name": name,
        "name_key": name.lower(),
        "type": clean_choice(data.get("type"), COMPANY_TYPES, "type", "Type"),
        "status": clean_choice(data.get("status"), CUSTOMER_STATUSES, "status", "Customer status"),
        "branded": bool(data.get("branded")),
    }


def create_company(reseller_id: int, data: dict) -> Company:
    fields = _company_fields(data, reseller_id)
    if fields["type"] == "Reseller":
        raise RuleError("Only the reseller's own company has type Reseller.", "type")
    company = Company(reseller_id=reseller_id, **fields)
    db.session.add(company)
    db.session.flush()
    audit("create", company, f"Created company {company.name}")
    return company


def update_company(company: Company, data: dict) -> Company:
    fields = _company_fields(data, company.reseller_id, company.id)
    if (fields["type"] == "Reseller") != (company.type == "Reseller"):
        raise RuleError("The type Reseller belongs to the reseller's own company and cannot be changed.", "type")
    diff = apply_changes(company, fields)
    diff.pop("name_key", None)
    if diff:
        db.session.flush()
        audit("update", company, f"Edited company {company.name}", diff)
    return company


def live_contacts_of_company():
    """Correlated count of a company's live contacts: only for sorting the Companies list by it."""
    return (select(func.count()).select_from(Contact)
            .where(Contact.company_id == Company.id, Contact.state == "live").correlate(Company).scalar_subquery())


def live_rooms_of_company():
    """Correlated count of a company's live rooms: only for sorting the Companies list by it."""
    return (select(func.count()).select_from(Room)
            .where(Room.company_id == Company.id, Room.live_clause()).correlate(Company).scalar_subquery())


def company_counts(company_ids) -> dict[int, dict]:
    """Live contacts, live rooms, all contacts and all rooms per company, by aggregate queries."""
    ids = list(company_ids)
    out = {i: {"live_contacts": 0, "live_rooms": 0, "contacts": 0, "rooms": 0} for i in ids}
    if not ids:
        return out
    rows = db.session.execute(
        select(Contact.company_id, func.count(), func.sum(case_when(Contact.state == "live")))
        .where(Contact.company_id.in_(ids))
        .group_by(Contact.company_id)
    )
    for cid, total, live in rows:
        out[cid]["contacts"], out[cid]["live_contacts"] = total, int(live or 0)
    rows = db.session.execute(
        select(Room.company_id, func.count(), func.sum(case_when(Room.live_clause())))
        .where(Room.company_id.in_(ids))
        .group_by(Room.company_id)
    )
    for cid, total, live in rows:
        out[cid]["rooms"], out[cid]["live_rooms"] = total, int(live or 0)
    return out


def case_when(cond):
    from sqlalchemy import case

    return case((cond, 1), else_=0)


def company_delete_impact(company: Company) -> dict:
    counts = company_counts([company.id])[company.id]
    return {"contacts": counts["contacts"], "rooms": counts["rooms"]}


def describe_impact(impact: dict) -> str:
    parts = []
    for key, noun in (("contacts", "contact"), ("rooms", "room"), ("hosts", "host link")):
        n = impact.get(key)
        if n is not None:
            parts.append(f"{n} {noun}{'' if n == 1 else 's'}")
    return " and ".join(parts) if parts else "nothing else"


def delete_company(company: Company) -> dict:
    if company.type == "Reseller":
        raise RuleError("The reseller's own company cannot be deleted.")
    impact = company_delete_impact(company)
    audit("delete", company, f"Deleted company {company.name} with {describe_impact(impact)}", impact)
    # Children first, so the same code works whether or not the database cascades.
    db.session.execute(Hosting.__table__.delete().where(Hosting.company_id == company.id))
    db.session.execute(Room.__table__.delete().where(Room.company_id == company.id))
    db.session.execute(Contact.__table__.delete().where(Contact.company_id == company.id))
    db.session.delete(company)
    db.session.flush()
    return impact


# ---------------------------------------------------------------- contacts


def email_taken(email: str, exclude_id: int | None = None) -> bool:
    stmt = select(Contact.id).where(Contact.email == email)
    if exclude_id:
        stmt = stmt.where(Contact.id != exclude_id)
    return db.session.execute(stmt.execution_options(unscoped=True)).first() is not None


def _contact_fields(data: dict, exclude_id: int | None = None) -> dict:
    email = clean_email(data.get("email"))
    if email_taken(email, exclude_id):
        raise RuleError(f"The email {email} is already in use (emails are the login, so they are unique).", "email")
    phone = (data.get("phone") or "").strip() or None
    if phone and not re.fullmatch(r"[0-9+()\-. ]{3,40}", phone):
        raise RuleError("Phone may contain digits, spaces and + ( ) - . only.", "phone")
    return {
        "first_name": clean_name(data.get("first_name"), "first_name", "First name"),
        "last_name": clean_name(data.get("last_name"), "last_name", "Last name"),
        "email": email,
        "phone": phone,
    }


def create_contact(company: Company, data: dict, roles=()) -> Contact:
    contact = Contact(company_id=company.id, reseller_id=company.reseller_id, state="live", **_contact_fields(data))
    contact.roles = roles
    db.session.add(contact)
    db.session.flush()
    audit("create", contact, f"Created contact {contact.name} in {company.name}")
    send_password_link(contact, "welcome")
    return contact


def update_contact(contact: Contact, data: dict) -> Contact:
    fields = _contact_fields(data, contact.id)
    if "state" in data:
        fields["state"] = clean_choice(data.get("state"), CONTACT_STATES, "state", "State")
        if fields["state"] == "suspended" and contact.state != "suspended" and contact.id == _actor_id():
            raise RuleError("You cannot suspend your own account; it would sign you out.", "state")
    diff = apply_changes(contact, fields)
    if diff:
        if "state" in diff and contact.state == "suspended":
            contact.session_epoch += 1
        if "email" in diff or ("state" in diff and contact.state == "suspended"):
            # a link sent to the old address (or before the suspension) must not set the password now
            expire_password_links(contact)
        db.session.flush()
        audit("update", contact, f"Edited contact {contact.name}", diff)
    return contact


def contact_rooms(contact: Contact) -> list[Room]:
    return list(
        db.session.execute(
            select(Room).join(Hosting, Hosting.room_id == Room.id).where(Hosting.contact_id == contact.id).order_by(Room.name_key)
        ).scalars()
    )


def rooms_by_contact(contact_ids) -> dict[int, list[tuple[Room, bool]]]:
    """The rooms each contact hosts, with their owner flag, in one query (for a page of contacts)."""
    ids = list(contact_ids)
    out: dict[int, list[tuple[Room, bool]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = db.session.execute(
        select(Hosting.contact_id, Hosting.is_owner, Room)
        .join(Room, Hosting.room_id == Room.id)
        .where(Hosting.contact_id.in_(ids))
        .order_by(Room.name_key, Room.id)
    )
    for contact_id, is_owner, room in rows:
        out[contact_id].append((room, is_owner))
    return out


def change_company_impact(contact: Contact, company: Company) -> list[Room]:
    """The room links that Change company removes: every link in the old company."""
    if company.id == contact.company_id:
        return []
    return contact_rooms(contact)


def change_company_check(contact: Contact, company: Company) -> None:
    """Raise RuleError when the contact cannot move there (also shown before the move is confirmed)."""
    if company.reseller_id != contact.reseller_id:
        raise RuleError("A contact can only move to another company of the same reseller.", "company_id", 404)
    if company.id == contact.company_id:
        raise RuleError(f"{contact.name} is already in {company.name}.", "company_id")
    if contact.has_role("reseller") and company.type != "Reseller":
        raise RuleError("Reseller staff belong to the reseller's own company.", "company_id")


def change_company(contact: Contact, company: Company) -> list[Room]:
    change_company_check(contact, company)
    removed = change_company_impact(contact, company)
    for room in removed:
        _unlink(room, contact)
    db.session.flush()
    old = contact.company
    contact.company_id = company.id
    db.session.flush()
    audit(
        "change_company",
        contact,
        f"Moved {contact.name} from {old.name} to {company.name}",
        {"company": [old.name, company.name], "unlinked_rooms": [r.name for r in removed]},
    )
    return removed


def contact_delete_impact(contact: Contact) -> dict:
    n = db.session.execute(select(func.count()).select_from(Hosting).where(Hosting.contact_id == contact.id)).scalar()
    return {"hosts": n}


def contact_delete_blocker(contact: Contact) -> str | None:
    """Why this contact cannot be deleted, or None. Shown on the confirm step and enforced on delete."""
    if contact.has_role("reseller") and _last_reseller_user(contact):
        return "This is the reseller's last reseller user, so it cannot be deleted."
    if contact.id == _actor_id():
        return "You cannot delete your own account while you are signed in with it."
    return None


def delete_contact(contact: Contact) -> dict:
    blocker = contact_delete_blocker(contact)
    if blocker:
        raise RuleError(blocker)
    impact = contact_delete_impact(contact)
    for room in contact_rooms(contact):
        _unlink(room, contact)
    audit("delete", contact, f"Deleted contact {contact.name}", impact)
    db.session.delete(contact)
    db.session.flush()
    return impact


def _last_reseller_user(contact: Contact) -> bool:
    others = db.session.execute(
        select(func.count()).select_from(Contact).where(
            Contact.reseller_id == contact.reseller_id,
            Contact.role_names.contains("reseller"),
            Contact.id != contact.id,
        )
    ).scalar()
    return others == 0


def set_roles(contact: Contact, roles) -> Contact:
    """Give or take stored roles (Host is derived from hosting). Used to raise a Host to Owner and back."""
    new = frozenset(roles)
    old = contact.roles
    if ("administrator" in new) != ("administrator" in old):
        raise RuleError("The administrator role is given on the command line only.", "roles")
    company = contact.company
    if "owner" in new - old and (company is None or company.type == "Reseller"):
        raise RuleError(
            "The Owner role is for a contact of a customer company. Reseller staff already manage every company.",
            "roles",
        )
    if "reseller" in new - old and (company is None or company.type != "Reseller"):
        raise RuleError("Only contacts of the reseller's own company can be reseller users.", "roles")
    if "reseller" in old - new and _last_reseller_user(contact):
        raise RuleError("This is the reseller's last reseller user, so the reseller role stays.", "roles")
    if new == old:
        return contact
    contact.roles = new
    db.session.flush()
    names = lambda rs: ", ".join(sorted(rs)) or "host only"  # noqa: E731
    audit("roles", contact, f"Roles of {contact.name}: {names(old)} → {names(new)}",
          {"roles": [sorted(old), sorted(new)]})
    return contact


# ---------------------------------------------------------------- rooms

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(value: str) -> str:
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return value[:60].strip("-") or "room"


def unique_slug(base: str, exclude_id: int | None = None) -> str:
    candidate, n = base, 1
    while slug_taken(candidate, exclude_id):
        n += 1
        candidate = f"{base[:55]}-{n}"
    return candidate


def slug_taken(slug: str, exclude_id: int | None = None) -> bool:
    stmt = select(Room.id).where(Room.slug == slug)
    if exclude_id:
        stmt = stmt.where(Room.id != exclude_id)
    return db.session.execute(stmt.execution_options(unscoped=True)).first() is not None


def end_date_for(status: str, reseller: Reseller, start: date | None = None) -> date | None:
    start = start or today()
    if status == "trial":
        return start + timedelta(days=reseller.trial_days)
    if status == "demo":
        return start + timedelta(days=reseller.demo_days)
    return None


def _int_field(value, field: str, label: str, lo: int, hi: int, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise RuleError(f"{label} must be a whole number.", field)
    if not lo <= n <= hi:
        raise RuleError(f"{label} must be between {lo} and {hi}.", field)
    return n


def _room_fields(data: dict, room: Room | None = None) -> dict:
    name = clean_name(data.get("name"))
    fields = {
        "name": name,
        "name_key": name.lower(),
        "product_type": clean_choice(data.get("product_type"), PRODUCT_TYPES, "product_type", "Product type"),
        "status": clean_choice(data.get("status"), ROOM_STATUSES, "status", "Status"),
        "max_participants": _int_field(data.get("max_participants"), "max_participants", "Max participants", 2, 1000,
                                       room.max_participants if room else 25),
        "lobby": bool(data.get("lobby")),
        "recording": bool(data.get("recording")),
        "suspended": bool(data.get("suspended")),
    }
    pin = (data.get("pin") or "").strip() or None
    if pin and not re.fullmatch(r"[0-9]{4,10}", pin):
        raise RuleError("PIN must be 4 to 10 digits, or empty for none.", "pin")
    fields["pin"] = pin
    slug = (data.get("slug") or "").strip().lower()
    exclude = room.id if room else None
    if slug:
        if len(slug) > 60 or not SLUG_RE.match(slug):
            raise RuleError("Meeting link may use a–z, 0–9 and single hyphens, up to 60 characters.", "slug")
        if slug_taken(slug, exclude):
            raise RuleError(f"The meeting link “{slug}” is taken. Choose another.", "slug")
        fields["slug"] = slug
    elif room is None:
        fields["slug"] = unique_slug(slugify(name))
    end = data.get("end_date")
    if end not in (None, ""):
        if isinstance(end, str):
            try:
                end = date.fromisoformat(end)
            except ValueError:
                raise RuleError("End date must be a date like 2026-12-31.", "end_date")
        start = room.created_at.date() if room is not None and room.created_at else today()
        if end < start:
            raise RuleError(f"End date cannot be before the room was created ({start.isoformat()}).", "end_date")
        fields["end_date"] = end
    return fields


def create_room(company: Company, data: dict) -> Room:
    fields = _room_fields(data)
    if fields["status"] != "paid subscriber" and "end_date" not in fields:
        fields["end_date"] = end_date_for(fields["status"], company.reseller)
    if fields["status"] == "paid subscriber":
        fields.pop("end_date", None)
    room = Room(company_id=company.id, reseller_id=company.reseller_id, **fields)
    db.session.add(room)
    db.session.flush()
    audit("create", room, f"Created {room.product_type} {room.name} in {company.name}")
    return room


def update_room(room: Room, data: dict) -> Room:
    fields = _room_fields(data, room)
    if fields["product_type"] != room.product_type and fields["product_type"] == "personal room":
        if len(room.hostings) > 1:
            raise RuleError(
                f"A personal room has at most one Host, and this room has {len(room.hostings)}. "
                "Unlink Hosts until one is left, then change the type.",
                "product_type",
            )
    if fields["status"] == "paid subscriber":
        fields["end_date"] = None
    elif "end_date" not in fields and (room.end_date is None or fields["status"] != room.status):
        fields["end_date"] = end_date_for(fields["status"], room.company.reseller)
    diff = apply_changes(room, fields)
    diff.pop("name_key", None)
    if diff:
        if "product_type" in diff and room.hostings:
            # the single remaining host of a personal room is its owner
            for h in room.hostings:
                h.room_type = room.product_type
            room.hostings[0].is_owner = True
        db.session.flush()
        audit("update", room, f"Edited room {room.name}", diff)
    return room


ROOM_SETTINGS = ("slug", "max_participants", "pin", "lobby", "recording")


def update_room_settings(room: Room, data: dict) -> Room:
    """Only the room's settings (what a Host who may edit the room changes); the rest stays as it is."""
    current = {"name": room.name, "product_type": room.product_type, "status": room.status,
               "suspended": room.suspended}
    settings = {key: data.get(key) for key in ROOM_SETTINGS}
    if not settings["slug"]:
        settings["slug"] = room.slug
    return update_room(room, {**current, **settings})


# The commercial terms: set by the reseller, not by the customer's Owner (permissions.can "set_terms").
TERMS = {"Company": ("status", "branded"), "Room": ("status", "end_date", "suspended")}


def keep_terms(obj, data) -> dict:
    """``data`` with the commercial terms of ``obj`` kept as they are (a new room starts as a trial)."""
    out = dict(data.items())
    if isinstance(obj, Company):
        out.update(status=obj.status, branded=obj.branded)
    elif isinstance(obj, Room):
        out.update(status=obj.status, end_date=obj.end_date or "", suspended=obj.suspended)
    else:
        out.update(status="trial", end_date="", suspended="")
    return out


def room_delete_impact(room: Room) -> dict:
    return {"hosts": len(room.hostings)}


def delete_room(room: Room) -> dict:
    impact = room_delete_impact(room)
    audit("delete", room, f"Deleted room {room.name}", {"hosts": [h.contact.name for h in room.hostings]})
    # Through the ORM: the loaded Hosting objects would otherwise be "orphaned" and
    # nulled on flush (StaleDataError once a Core delete has removed their rows).
    for hosting in list(room.hostings):
        db.session.delete(hosting)
    db.session.flush()
    db.session.delete(room)
    db.session.flush()
    return impact


# ---------------------------------------------------------------- hosting


def linkable_contacts(room: Room) -> list[Contact]:
    """This company's contacts who are not yet Hosts of the room (SPEC §3.5; link() refuses nobody else)."""
    linked = select(Hosting.contact_id).where(Hosting.room_id == room.id)
    return list(
        db.session.execute(
            select(Contact)
            .where(Contact.company_id == room.company_id, Contact.id.not_in(linked))
            .order_by(Contact.last_name, Contact.first_name)
        ).scalars()
    )


def linkable_rooms(contact: Contact) -> list[Room]:
    """Rooms of the contact's company they do not host yet (personal rooms only while free)."""
    linked = select(Hosting.room_id).where(Hosting.contact_id == contact.id)
    taken_personal = select(Hosting.room_id).where(Hosting.room_type == "personal room")
    return list(
        db.session.execute(
            select(Room)
            .where(Room.company_id == contact.company_id, Room.id.not_in(linked), Room.id.not_in(taken_personal))
            .order_by(Room.name_key)
        ).scalars()
    )


def link(room: Room, contact: Contact) -> Hosting:
    if contact.company_id != room.company_id:
        raise RuleError(
            f"{contact.name} is a contact of {contact.company.name if contact.company else 'another company'}, "
            f"but {room.name} belongs to {room.company.name}. A room can only be linked to contacts of its own company.",
            "contact_id",
        )
    if any(h.contact_id == contact.id for h in room.hostings):
        raise RuleError(f"{contact.name} is already a Host of {room.name}.", "contact_id")
    if room.product_type == "personal room" and room.hostings:
        raise RuleError(
            f"{room.name} is a personal room and already has its Host, {room.hostings[0].contact.name}. "
            "A personal room has at most one Host. Unlink them first, or use a team room.",
            "contact_id",
        )
    hosting = Hosting(
        reseller_id=room.reseller_id,
        company_id=room.company_id,
        room=room,
        room_id=room.id,
        contact=contact,
        contact_id=contact.id,
        room_type=room.product_type,
        is_owner=not room.hostings,  # the first Host linked becomes the owner
    )
    db.session.add(hosting)
    db.session.flush()
    audit("link", room, f"Linked {contact.name} to {room.name}", {"host": [None, contact.name]})
    return hosting


def _unlink(room: Room, contact: Contact) -> None:
    hosting = next((h for h in room.hostings if h.contact_id == contact.id), None)
    if hosting is None:
        raise RuleError(f"{contact.name} is not a Host of {room.name}.", "contact_id")
    was_owner = hosting.is_owner
    room.hostings.remove(hosting)
    db.session.delete(hosting)
    db.session.flush()
    if was_owner and room.hostings:
        # ownership passes to the longest-linked remaining Host
        room.hostings[0].is_owner = True
        db.session.flush()


def unlink(room: Room, contact: Contact) -> str:
    """Unlink a Host. Returns what happened in one sentence (it names the new owner if ownership moved)."""
    was_owner = any(h.is_owner and h.contact_id == contact.id for h in room.hostings)
    _unlink(room, contact)
    new_owner = room.owner if was_owner else None
    summary = f"Unlinked {contact.name} from {room.name}" + (f"; {new_owner.name} is now the owner" if new_owner else "")
    audit("unlink", room, summary, {"host": [contact.name, None]})
    return summary


def make_owner(room: Room, contact: Contact) -> None:
    if room.product_type != "team room":
        raise RuleError("Only a team room has a designated owner; a personal room's one Host edits it.")
    target = next((h for h in room.hostings if h.contact_id == contact.id), None)
    if target is None:
        raise RuleError(f"{contact.name} is not a Host of {room.name}. Link them first.")
    if target.is_owner:
        return
    old = room.owner
    for h in room.hostings:
        if h.is_owner:
            h.is_owner = False
    db.session.flush()  # the partial unique index allows one owner at a time
    target.is_owner = True
    db.session.flush()
    audit("make_owner", room, f"{contact.name} is now the owner of {room.name}",
          {"owner": [old.name if old else None, contact.name]})


def give_personal_room(room: Room, contact: Contact) -> Room:
    """Create a personal room for a team room's Host and unlink them from the team room, in one step."""
    if room.product_type != "team room":
        raise RuleError("Give personal room applies to a Host of a team room.")
    if not any(h.contact_id == contact.id for h in room.hostings):
        raise RuleError(f"{contact.name} is not a Host of {room.name}.")
    name = f"{contact.name}'s room"
    if len(name) > NAME_MAX:
        name = f"{contact.name[:NAME_MAX - 7].rstrip()}'s room"
    data = {"name": name, "product_type": "personal room", "status": room.status}
    personal = create_room(room.company, data)
    if room.status != "paid subscriber":
        personal.end_date = room.end_date
    unlink(room, contact)
    link(personal, contact)
    return personal


# ---------------------------------------------------------------- resellers (tenants)

HEX_COLOR_RE = re.compile(r"^#[0-9a-f]{6}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
DEV_HOSTS = ("localhost", "127.0.0.1")
MAX_ORIGINS = 50


def _origin(entry: str) -> str:
    """The normalised origin for one entry, or ValueError saying why it is not allowed."""
    from urllib.parse import urlsplit

    if "*" in entry:
        raise ValueError("wildcards are not allowed; list each host exactly")
    scheme, sep, rest = entry.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise ValueError("it needs a scheme, like https://partner.example")
    if scheme not in ("https", "http"):
        raise ValueError("only https origins are allowed")
    rest = rest[:-1] if rest.endswith("/") else rest
    if any(c in rest for c in "/?#@\\"):
        raise ValueError("an origin is only scheme, host and port: no path, query, fragment or user")
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or rest.endswith(":"):
        raise ValueError("the port must be a number from 1 to 65535")
    host = (parts.hostname or "").lower()
    if not HOST_RE.match(host):
        raise ValueError("the host name is not valid")
    if scheme == "http" and host not in DEV_HOSTS:
        raise ValueError("only https is allowed (http only for localhost and 127.0.0.1, for development)")
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def clean_origins(text: str | None) -> str:
    """Embed origins, one per line: https://exact-host[:port]; http://localhost and http://127.0.0.1 for development.

    Returns the normalised list, one per line. A bad entry raises RuleError naming it.
    """
    out: list[str] = []
    for raw in (text or "").split():
        try:
            origin = _origin(raw)
        except ValueError as problem:
            raise RuleError(f"“{raw[:100]}” is not an allowed origin: {problem}.", "embed_origins")
        if origin not in out:
            out.append(origin)
    if len(out) > MAX_ORIGINS:
        raise RuleError(f"List at most {MAX_ORIGINS} origins (there are {len(out)}).", "embed_origins")
    return "\n".join(out)


def clean_logo_url(value: str | None) -> str | None:
    from urllib.parse import urlsplit

    value = (value or "").strip()
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in value):
        raise RuleError("Logo URL must be an https:// address, like https://partner.example/logo.png.", "logo_url")
    if len(value) > 500:
        raise RuleError("Logo URL must be at most 500 characters.", "logo_url")
    return value


def update_reseller_settings(reseller: Reseller, data: dict) -> Reseller:
    color = (data.get("brand_color") or "").strip().lower()
    if not HEX_COLOR_RE.match(color):
        raise RuleError("Brand colour must be a colour like #2f6fde (# and six hex digits).", "brand_color")
    fields = {
        "trial_days": _int_field(data.get("trial_days"), "trial_days", "Trial length", 1, 365, reseller.trial_days),
        "demo_days": _int_field(data.get("demo_days"), "demo_days", "Demo length", 1, 365, reseller.demo_days),
        "brand_color": color,
        "logo_url": clean_logo_url(data.get("logo_url")),
        "embed_origins": clean_origins(data.get("embed_origins")),
    }
    diff = apply_changes(reseller, fields)
    if diff:
        db.session.flush()
        audit("update", reseller, f"Edited the settings of {reseller.name}", diff)
    return reseller


def reseller_counts() -> list[dict]:
    """Every reseller with its companies, contacts, rooms and reseller users, by aggregate queries."""
    resellers = db.session.execute(select(Reseller).order_by(func.lower(Reseller.name))).scalars().all()
    out = {r.id: {"reseller": r, "companies": 0, "contacts": 0, "rooms": 0, "live_rooms": 0, "users": 0}
           for r in resellers}

    def fill(stmt, *keys):
        for rid, *values in db.session.execute(stmt.execution_options(unscoped=True)):
            if rid in out:
                for key, value in zip(keys, values):
                    out[rid][key] = int(value or 0)

    fill(select(Company.reseller_id, func.count()).where(Company.type != "Reseller").group_by(Company.reseller_id),
         "companies")
    fill(select(Contact.reseller_id, func.count(), func.sum(case_when(Contact.role_names.contains("reseller"))))
         .where(Contact.reseller_id.is_not(None)).group_by(Contact.reseller_id), "contacts", "users")
    fill(select(Room.reseller_id, func.count(), func.sum(case_when(Room.live_clause()))).group_by(Room.reseller_id),
         "rooms", "live_rooms")
    return list(out.values())


# ---------------------------------------------------------------- password links

PASSWORD_MIN = 10
PASSWORD_MAX = 200
TOKEN_LIFETIME = {"welcome": timedelta(days=7), "reset": timedelta(hours=24)}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_password_token(contact: Contact, purpose: str) -> str:
    """A new single-use link token. Only its SHA-256 is stored; the token itself goes in the mail."""
    token = secrets.token_urlsafe(32)
    db.session.add(PasswordToken(contact_id=contact.id, token_hash=token_hash(token), purpose=purpose,
                                 expires_at=utcnow() + TOKEN_LIFETIME[purpose]))
    return token


def expire_password_links(contact: Contact) -> None:
    """End every unused link of the contact (their email changed, or they were suspended)."""
    db.session.execute(
        PasswordToken.__table__.update()
        .where(PasswordToken.contact_id == contact.id, PasswordToken.used_at.is_(None),
               PasswordToken.expires_at > utcnow())
        .values(expires_at=utcnow())
    )


def send_password_link(contact: Contact, purpose: str = "reset") -> None:
    """Queue the welcome or reset mail with a link to set a password (never the password itself)."""
    import mailer

    if contact.state != "live":
        raise RuleError(f"{contact.name} is suspended. Make them live before sending a password link.", status=409)
    token = issue_password_token(contact, purpose)
    link = mailer.public_url("account.set_password", token=token)
    hours = int(TOKEN_LIFETIME[purpose].total_seconds() // 3600)
    subject = "Welcome to the Reseller Portal" if purpose == "welcome" else "Set a new password for the Reseller Portal"
    mailer.send_email(subject, [contact.email], purpose, first_name=contact.first_name, email=contact.email,
                      link=link, hours=hours)
    if purpose == "reset":
        audit("password_link", contact, f"Sent a password link to {contact.email}")


def find_password_token(token: str) -> PasswordToken:
    """The usable token, or RuleError 400 (unknown or tampered) / 410 (used or expired)."""
    row = None
    if token and len(token) <= 100:
        row = db.session.execute(
            select(PasswordToken).where(PasswordToken.token_hash == token_hash(token))
        ).scalar_one_or_none()
    if row is None:
        raise RuleError("This link is not valid. Check that you copied the whole link from the email, "
                        "or ask for a new one.", status=400)
    if row.used_at is not None:
        raise RuleError("This link has already been used. Each link works once; ask for a new one.", status=410)
    if row.expires_at <= utcnow():
        raise RuleError("This link has expired. Ask for a new one.", status=410)
    return row


def check_new_password(password: str, repeat: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise RuleError(f"Use at least {PASSWORD_MIN} characters (this one has {len(password)}).", "password")
    if len(password) > PASSWORD_MAX:
        raise RuleError(f"Use at most {PASSWORD_MAX} characters.", "password")
    if len(set(password)) == 1:
        raise RuleError("Use more than one different character.", "password")
    if password != repeat:
        raise RuleError("The two passwords are not the same. Type the new password again in both fields.",
                        "password_repeat")


def set_password_with_token(token: str, password: str, repeat: str) -> Contact:
    """Use a link: set the password, end the contact's other sessions and spend the link (and any older ones)."""
    row = find_password_token(token)
    check_new_password(password, repeat)
    now = utcnow()
    # Spend the link in one statement, so two submits at once cannot both use it.
    spent = db.session.execute(
        PasswordToken.__table__.update()
        .where(PasswordToken.id == row.id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        raise RuleError("This link has already been used. Each link works once; ask for a new one.", status=410)
    db.session.execute(
        PasswordToken.__table__.update()
        .where(PasswordToken.contact_id == row.contact_id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
    )
    contact = db.session.execute(
        select(Contact).where(Contact.id == row.contact_id).execution_options(unscoped=True)
    ).scalar_one()
    contact.set_password(password)
    contact.session_epoch += 1
    db.session.flush()
    audit("set_password", contact, f"{contact.name} set a new password with a {row.purpose} link")
    return contact


# ---------------------------------------------------------------- embedding (blueprints/embed.py, docs/embedding.md)


def use_embed_token(reseller: Reseller, jti: str, expires_at: datetime) -> None:
    """Record a sign-in token's jti until it expires; a replay hits the primary key and raises RuleError."""
    from sqlalchemy.exc import IntegrityError

    db.session.execute(EmbedTokenUse.__table__.delete().where(EmbedTokenUse.expires_at < utcnow()))
    db.session.add(EmbedTokenUse(jti=f"{reseller.id}:{jti}", reseller_id=reseller.id, expires_at=expires_at))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise RuleError("This sign-in link was already used.", "token", 401)


def rotate_embed_secret(reseller: Reseller) -> str:
    """A new embed secret. The one it replaces stays accepted for EMBED_SECRET_GRACE_SECONDS."""
    reseller.embed_secret_previous = reseller.embed_secret
    reseller.embed_secret = secrets.token_urlsafe(32)
    reseller.embed_secret_rotated_at = utcnow()
    db.session.flush()
    audit("rotate_embed_secret", reseller, f"Rotated the embed secret of {reseller.name}")
    return reseller.embed_secret


def drop_previous_embed_secret(reseller: Reseller) -> None:
    """End the grace period now: only the current embed secret signs in (for a leaked previous secret)."""
    if reseller.embed_secret_previous is None:
        raise RuleError("There is no previous embed secret to stop.", "embed_secret", 409)
    reseller.embed_secret_previous = None
    db.session.flush()
    audit("drop_previous_embed_secret", reseller, f"Stopped the previous embed secret of {reseller.name}")


def end_embed_sessions(reseller: Reseller) -> None:
    """End every embed session of the reseller at once (they carry the epoch they were issued with)."""
    old = reseller.embed_epoch
    reseller.embed_epoch = old + 1
    db.session.flush()
    audit("end_embed_sessions", reseller, f"Ended all embed sessions of {reseller.name}",
          {"embed_epoch": [old, reseller.embed_epoch]})


# ---------------------------------------------------------------- search (one function per resource)


def _like(q: str) -> str:
    q = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{q}%"


def search_companies(q: str = "", type_: str | None = None, status: str | None = None):
    stmt = select(Company)
    if q:
        stmt = stmt.where(Company.name_key.like(_like(q), escape="\\"))
    if type_:
        stmt = stmt.where(Company.type == type_)
    if status:
        stmt = stmt.where(Company.status == status)
    return stmt


def search_contacts(q: str = "", company_id: int | None = None, state: str | None = None):
    stmt = select(Contact).join(Company, Contact.company_id == Company.id)
    if q:
        like = _like(q)
        stmt = stmt.where(
            or_(
                func.lower(Contact.first_name + " " + Contact.last_name).like(like, escape="\\"),
                Contact.email.like(like, escape="\\"),
            )
        )
    if company_id:
        stmt = stmt.where(Contact.company_id == company_id)
    if state:
        stmt = stmt.where(Contact.state == state)
    return stmt


def search_rooms(q: str = "", company_id: int | None = None, status: str | None = None, product_type: str | None = None):
    stmt = select(Room).join(Company, Room.company_id == Company.id)
    if q:
        like = _like(q)
        stmt = stmt.where(or_(Room.name_key.like(like, escape="\\"), Room.slug.like(like, escape="\\")))
    if company_id:
        stmt = stmt.where(Room.company_id == company_id)
    if status:
        stmt = stmt.where(Room.status == status)
    if product_type:
        stmt = stmt.where(Room.product_type == product_type)
    return stmt


def host_counts(room_ids) -> dict[int, int]:
    ids = list(room_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Hosting.room_id, func.count()).where(Hosting.room_id.in_(ids)).group_by(Hosting.room_id)
    )
    return dict(rows.all())
