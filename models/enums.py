"""The enumerations and the SQL text built from them: forms, templates, CHECK constraints and the
migrations all read these, so a value can't be added in one place and forgotten in another. Also how a
room's end date reads (EndState), beside the days that make it "expiring soon"."""
from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class CompanyType(StrEnum):
    RESELLER = "Reseller"
    BUSINESS = "Business"
    EDUCATION = "Education"
    HEALTHCARE = "Healthcare"
    GOVERNMENT = "Government"
    NON_PROFIT = "Non-profit"


class CustomerStatus(StrEnum):
    PROSPECT = "prospect"
    CUSTOMER = "customer"


class ProductType(StrEnum):
    PERSONAL = "personal room"
    TEAM = "team room"


class RoomStatus(StrEnum):
    DEMO = "demo"
    TRIAL = "trial"
    PAID = "paid subscriber"


class ContactState(StrEnum):
    LIVE = "live"
    SUSPENDED = "suspended"


class Role(StrEnum):
    """Stored roles. Host is not stored: it follows from hosting a room."""

    ADMINISTRATOR = "administrator"
    RESELLER = "reseller"
    OWNER = "owner"


COMPANY_TYPES = tuple(CompanyType)
CUSTOMER_STATUSES = tuple(CustomerStatus)
PRODUCT_TYPES = tuple(ProductType)
ROOM_STATUSES = tuple(RoomStatus)
CONTACT_STATES = tuple(ContactState)
STORED_ROLES = tuple(Role)
NAME_MAX = 120
# name_key is the lower-cased name, which can be longer: "İ".lower() is two code points
# (no character lower-cases to more), so 61 × "İ" fits the name but not a name-sized key.
NAME_KEY_MAX = 2 * NAME_MAX
EXPIRING_SOON_DAYS = 7


class EndState(NamedTuple):
    """How a room's end date reads on a given day (Room.end_state)."""

    days_left: int | None
    label: str
    expiring_soon: bool

    @classmethod
    def of(cls, left: int | None) -> "EndState":
        if left is None:
            return cls(None, "", False)
        label = "ended" if left < 0 else "ends today" if left == 0 else f"{left} day{'' if left == 1 else 's'} left"
        return cls(left, label, 0 <= left <= EXPIRING_SOON_DAYS)


def role_names_for(roles) -> str:
    """How a set of roles is stored: the names, sorted, space separated."""
    return " ".join(sorted({str(r) for r in roles}))


def sql_literal(value) -> str:
    """A string as an SQL literal: ``'paid subscriber'``, quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def enum_in(column: str, values) -> str:
    """``column IN ('a', 'b')`` from an enum: the CHECK text the models and the migrations share."""
    return f"{column} IN ({', '.join(sql_literal(v) for v in values)})"
