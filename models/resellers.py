"""Resellers (tenants): their settings, embed origins and counts."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from sqlalchemy import func, select

from extensions import db

from .audit import HIDDEN, apply_changes, audit, created
from .conflicts import guarded
from .companies import create_company
from .contacts import create_contact, email_taken
from .errors import RuleError
from .rules import clean_email, clean_int, clean_name
from .schema import Company, CompanyType, Contact, ContactState, CustomerStatus, Reseller, Role, Room

HEX_COLOR_RE = re.compile(r"^#[0-9a-f]{6}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
DEV_HOSTS = ("localhost", "127.0.0.1")
MAX_ORIGINS = 50


def _origin(entry: str) -> str:
    """The normalised origin for one entry, or ValueError saying why it is not allowed."""
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
    value = (value or "").strip()
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() != "https" or not parts.hostname
            or any(c.isspace() or unicodedata.category(c) == "Cc" for c in value)):
        raise RuleError("Logo URL must be an https:// address, like https://partner.example/logo.png.", "logo_url")
    if len(value) > 500:
        raise RuleError("Logo URL must be at most 500 characters.", "logo_url")
    return value


@guarded
def update_reseller_settings(reseller: Reseller, data: dict) -> Reseller:
    color = (data.get("brand_color") or "").strip().lower()
    if not HEX_COLOR_RE.match(color):
        raise RuleError("Brand colour must be a colour like #2f6fde (# and six hex digits).", "brand_color")
    fields = {
        "trial_days": clean_int(data.get("trial_days"), "trial_days", "Trial length", 1, 365, reseller.trial_days),
        "demo_days": clean_int(data.get("demo_days"), "demo_days", "Demo length", 1, 365, reseller.demo_days),
        "brand_color": color,
        "logo_url": clean_logo_url(data.get("logo_url")),
        "embed_origins": clean_origins(data.get("embed_origins")),
    }
    if data.get("trial_notices_shown"):  # the form has the checkbox (unticked sends nothing)
        fields["trial_notices"] = bool(data.get("trial_notices"))
    diff = apply_changes(reseller, fields)
    if diff:
        db.session.flush()
        audit("update", reseller, f"Edited the settings of {reseller.name}", diff)
    return reseller


def reseller_counts() -> list[dict]:
    """Every reseller with its companies, contacts, rooms and reseller users: one query (a correlated
    count per figure, each an index range on reseller_id), whatever the number of resellers."""
    def count(model, *where):
        return (select(func.count()).select_from(model).where(model.reseller_id == Reseller.id, *where)
                .correlate(Reseller).scalar_subquery())

    stmt = select(
        Reseller,
        count(Company, Company.type != CompanyType.RESELLER),
        count(Contact),
        count(Contact, Contact.role_clause(Role.RESELLER)),
        count(Room),
        count(Room, Room.live_clause()),
    ).order_by(func.lower(Reseller.name))
    keys = ("companies", "contacts", "users", "rooms", "live_rooms")
    return [{"reseller": r, **{k: int(v or 0) for k, v in zip(keys, values)}}
            for r, *values in db.session.execute(stmt.execution_options(unscoped=True))]


@guarded
def create_reseller(name: str, origins=()) -> Reseller:
    """A reseller with its own company (type Reseller, which cannot be deleted)."""
    name = clean_name(name)
    if db.session.execute(select(Reseller.id).where(func.lower(Reseller.name) == name.lower())).first():
        raise RuleError(f"A reseller named {name} already exists.", "name")
    reseller = Reseller(name=name, embed_origins=clean_origins("\n".join(origins)))
    db.session.add(reseller)
    db.session.flush()
    audit("create", reseller, f"Created reseller {name}", created(reseller))
    create_company(reseller.id, {"name": name, "type": CompanyType.RESELLER, "status": CustomerStatus.CUSTOMER},
                   own=True)
    return reseller


@guarded
def create_user(email: str, role: Role, password: str | None, reseller: Reseller | None,
                first: str = "", last: str = "") -> Contact:
    """An administrator (of no company) or a reseller user (of the reseller's own company).

    Without a password the welcome mail's link sets it; with one, no link is sent.
    """
    role = Role(role)
    if role == Role.ADMINISTRATOR:
        user = Contact(first_name=first or "Admin", last_name=last or "", email=clean_email(email),
                       state=ContactState.LIVE)
        if email_taken(user.email):
            raise RuleError(f"The email {user.email} is already in use.", "email")
        user.roles = {role}
        db.session.add(user)
        db.session.flush()
    else:
        if reseller is None:
            raise RuleError("A reseller user needs a reseller (--reseller NAME on the command line).", "reseller")
        local = (email or "").split("@")[0]
        data = {"first_name": first or local.split(".")[0].title() or "Staff", "last_name": last or "Staff",
                "email": email}
        user = create_contact(reseller.own_company, data, roles={role}, welcome=password is None)
    if password:
        user.set_password(password)
    db.session.flush()
    changes = {"roles": [None, sorted(user.roles)], "email": [None, user.email]}
    if password:
        changes["password"] = [None, HIDDEN]  # the trail says only that one was set
    audit("create_user", user, f"Created {role} user {user.email}", changes)
    return user
