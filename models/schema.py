"""The mapped classes. Their enumerations live in enums.py (re-exported here for the migrations)."""
from __future__ import annotations

import secrets
from datetime import date, datetime, timezone
from functools import lru_cache
from itertools import combinations

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
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db

from .enums import (  # re-exported: the migrations import them from here
    COMPANY_TYPES,
    CONTACT_STATES,
    CUSTOMER_STATUSES,
    CompanyType,
    ContactState,
    CustomerStatus,
    EXPIRING_SOON_DAYS,
    EndState,
    NAME_KEY_MAX,
    NAME_MAX,
    PRODUCT_TYPES,
    ProductType,
    ROOM_STATUSES,
    Role,
    RoomStatus,
    STORED_ROLES,
    enum_in,
    role_names_for,
    sql_literal,
)
from .errors import RuleError


_frozen_now: datetime | None = None


def utcnow() -> datetime:
    """Naive UTC now. Tests (and "what if" runs) fix it with ``set_now``."""
    if _frozen_now is not None:
        return _frozen_now
    return datetime.now(timezone.utc).replace(tzinfo=None)


def set_now(at: datetime | None) -> None:
    """Fix "now" for the whole process (None: the real clock again). Every rule reads utcnow/today."""
    global _frozen_now
    _frozen_now = at


def today() -> date:
    return utcnow().date()


def _enum_check(column: str, values, name: str) -> CheckConstraint:
    return CheckConstraint(enum_in(column, values), name=name)


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
    # Trial-expiry notices to the reseller's users (models/notices.py); off: none of them gets one.
    trial_notices: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
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
            select(Company).where(Company.reseller_id == self.id, Company.type == CompanyType.RESELLER)
        ).scalars().first()


class Company(db.Model):
    __tablename__ = "companies"
    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # lower-cased name: backs the case-insensitive unique rule and search.
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_MAX))
    type: Mapped[str] = mapped_column(String(20), default=CompanyType.BUSINESS.value)
    status: Mapped[str] = mapped_column(String(20), default=CustomerStatus.PROSPECT.value)
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


@lru_cache(maxsize=64)
def _roles(role_names: str) -> frozenset[str]:
    """The roles of a stored role_names (a handful of combinations exist; permission checks ask per row)."""
    return frozenset(role_names.split())


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
    state: Mapped[str] = mapped_column(String(10), default=ContactState.LIVE.value)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Bumped to end every other session of this contact (password set, suspend).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # This person's own choice to get trial-expiry notices (an Owner turns them off for themself).
    trial_notices: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # How dates, times and numbers read for this person (locale_format.py).
    locale: Mapped[str] = mapped_column(String(10), default="en", server_default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    # Loaded with the row (one statement): a page drawn after a commit never finds the
    # contact without the company that a concurrent delete removed between two SELECTs.
    company: Mapped[Company | None] = relationship(lazy="joined")
    reseller: Mapped[Reseller | None] = relationship()
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("id", "company_id"),
        _enum_check("state", CONTACT_STATES, "state_known"),
        CheckConstraint(
            f"(company_id IS NOT NULL AND reseller_id IS NOT NULL) OR role_names = {sql_literal(Role.ADMINISTRATOR)}",
            name="company_unless_admin",
        ),
    )

    # -- roles
    @property
    def roles(self) -> frozenset[str]:
        return _roles(self.role_names)

    @roles.setter
    def roles(self, value) -> None:
        unknown = set(value) - set(STORED_ROLES)
        if unknown:
            raise RuleError(f"Unknown role: {', '.join(sorted(unknown))}.", "roles")
        self.role_names = role_names_for(value)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @classmethod
    def role_clause(cls, role: Role):
        """Exact SQL for "has this role": role_names is one of the stored combinations that include it."""
        others = [r for r in Role if r != role]
        combos = [role_names_for({role, *extra}) for n in range(len(others) + 1) for extra in combinations(others, n)]
        return cls.role_names.in_(combos)

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
        return self.state == ContactState.LIVE

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"


class Room(db.Model):
    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_MAX), index=True)
    product_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    end_date: Mapped[date | None] = mapped_column(Date, index=True)
    # When a trial or demo became a paid subscription (models/reports.py sets it): the trial report's "converted".
    converted_at: Mapped[datetime | None] = mapped_column(DateTime)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    max_participants: Mapped[int] = mapped_column(Integer, default=25)
    pin: Mapped[str | None] = mapped_column(String(10))
    lobby: Mapped[bool] = mapped_column(Boolean, default=False)
    recording: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    company: Mapped[Company] = relationship(lazy="joined")  # with the row, as Contact.company
    hostings: Mapped[list["Hosting"]] = relationship(
        back_populates="room", order_by="Hosting.linked_at, Hosting.id", passive_deletes=True
    )
    # How many Hosts, where a list asks for it in its own statement (search.HOST_COUNT); None elsewhere.
    host_count: Mapped[int | None] = query_expression()
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("id", "company_id", "product_type"),
        _enum_check("product_type", PRODUCT_TYPES, "product_type_known"),
        _enum_check("status", ROOM_STATUSES, "status_known"),
        CheckConstraint(f"status = {sql_literal(RoomStatus.PAID)} OR end_date IS NOT NULL", name="end_date_unless_paid"),
        CheckConstraint("max_participants BETWEEN 2 AND 1000", name="max_participants_range"),
        CheckConstraint("length(name) BETWEEN 1 AND 120", name="name_length"),
    )

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return not self.suspended and (
            self.status == RoomStatus.PAID or (self.end_date is not None and self.end_date >= today())
        )

    @property
    def days_left(self) -> int | None:
        if self.status == RoomStatus.PAID or self.end_date is None:
            return None
        return (self.end_date - today()).days

    @property
    def end_state(self) -> "EndState":
        """Days left, their label and whether the room is expiring soon, from one reading of the date (a list
        shows all three on every row)."""
        return EndState.of(self.days_left)

    @property
    def expiring_soon(self) -> bool:
        return self.end_state.expiring_soon

    @property
    def days_left_label(self) -> str:
        """"12 days left", "1 day left", "ends today", "ended", or "" for a room without an end date."""
        return self.end_state.label

    @property
    def owner(self) -> "Contact | None":
        return next((h.contact for h in self.hostings if h.is_owner), None)

    @classmethod
    def live_clause(cls):
        return and_(
            cls.suspended.is_(False),
            or_(cls.status == RoomStatus.PAID, cls.end_date >= today()),
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
    contact: Mapped[Contact] = relationship(foreign_keys=[contact_id], primaryjoin="Hosting.contact_id == Contact.id",
                                            lazy="joined")  # a Host is drawn with its contact, from one statement
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
              sqlite_where=text(f"room_type = {sql_literal(ProductType.PERSONAL)}"),
              postgresql_where=text(f"room_type = {sql_literal(ProductType.PERSONAL)}")),
    )


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
    purpose: Mapped[str] = mapped_column(String(20))  # "welcome" or "reset"
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class EmbedTokenUse(db.Model):
    """jti of every embed sign-in token used, kept until the token expires."""

    __tablename__ = "embed_token_uses"
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
