"""Database conflicts in words, and the row lock that keeps concurrent writes in order.

Two requests can pass the same check at the same moment (both see an email as
free, both save the form at version 3); the database then refuses one of them.
``explain`` is the one translation from that refusal to a RuleError a person can
read: a unique key names its field (422), a row changed meanwhile is a conflict
(409), a row deleted meanwhile is gone (404), a value the column cannot hold is
422. Domain writes are wrapped in ``guarded``, so the views' RuleError path
re-renders the form with the message; web.py's error handlers use the same
``explain`` for anything raised outside a domain write (a commit, a render).

``lock`` takes an object's row for the rest of the transaction before a write
that depends on what was read (the Hosts of a room, the version of a form), then
reads everything again. On PostgreSQL the UPDATE holds the row lock, so a second
request waits and then sees the first one's result. On SQLite the first write of
a transaction takes the database's write lock (pysqlite begins the transaction
there, and busy_timeout makes the second writer wait for it), which serialises
the same way.
"""
from __future__ import annotations

import re
from functools import wraps

from sqlalchemy import inspect, update
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from extensions import db

from .errors import RuleError

# Emails and meeting links are unique in the whole portal, across tenants. A refusal must not tell
# anyone that another tenant has one: an email refused for being in use elsewhere reads as any
# other refused email (models/contacts.py), and a taken meeting link reads the same whoever has
# it, with a free one to try instead (models/rooms.py adds it, also after a refusal here).
EMAIL_REFUSED = "This email cannot be used; ask the person for another."
SLUG_REFUSED = "That meeting link cannot be used."

# Unique keys by constraint (or unique index) name: the form field they belong to and what to say.
# Under a race the email key cannot tell whose the other row is, so it gives the neutral sentence.
UNIQUE_KEYS: dict[str, tuple[str, str]] = {
    "uq_contacts_email": ("email", EMAIL_REFUSED),
    "uq_rooms_slug": ("slug", f"{SLUG_REFUSED} Choose another."),
    "uq_companies_reseller_id_name_key": ("name", "A company with that name already exists (names ignore case)."),
    "uq_resellers_name": ("name", "A reseller with that name already exists."),
    "uq_hostings_room_id_contact_id": ("contact_id", "That contact is already a Host of this room."),
    "uq_hostings_one_personal_host": ("contact_id", "A personal room has at most one Host, and this one has its Host."),
    "uq_hostings_one_owner": ("contact_id", "The Hosts of this room changed meanwhile. Reload and try again."),
}
# SQLite names the columns, not the constraint ("UNIQUE constraint failed: rooms.slug"). Both
# partial indexes of hostings are on room_id alone, so that one stands for either.
SQLITE_COLUMNS = {"hostings.room_id": "uq_hostings_one_personal_host"}

CHANGED = "{what} was changed by someone else while you were working on it. Reload to see it as it is now, then try again."
GONE = "{what} was deleted by someone else meanwhile."
BUSY = "The portal was busy with another change at the same moment. Try again."
# PostgreSQL: serialization failure, deadlock, lock not available, statement timeout.
PG_RETRYABLE = {"40001", "40P01", "55P03", "57014"}


def _label(obj) -> str:
    """"Company “Acme”" when the name is at hand without a query, else "This company"."""
    kind = type(obj).__name__
    try:
        name = inspect(obj).dict.get("name") or (
            f"{inspect(obj).dict.get('first_name', '')} {inspect(obj).dict.get('last_name', '')}".strip())
    except Exception:  # noqa: BLE001 - a label must never fail the answer
        name = ""
    return f"{kind} “{name}”" if name else f"This {kind.lower()}"


def _unique_name(exc: IntegrityError) -> str | None:
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg
        return getattr(diag, "constraint_name", None)
    message = str(orig)
    match = re.search(r"UNIQUE constraint failed: (?:index '([^']+)'|(.+))$", message)
    if not match:
        return None
    if match.group(1):
        return match.group(1)
    columns = [c.strip() for c in match.group(2).split(",")]
    joined = ", ".join(columns)
    if joined in SQLITE_COLUMNS:
        return SQLITE_COLUMNS[joined]
    table = columns[0].split(".")[0]
    return f"uq_{table}_" + "_".join(c.split(".", 1)[1] for c in columns)


def _sqlstate(exc: SQLAlchemyError) -> str | None:
    return getattr(getattr(exc, "orig", None), "sqlstate", None)


def explain(exc: BaseException) -> RuleError | None:
    """The RuleError that says what the database refused, or None when it is not a conflict (a real fault)."""
    if isinstance(exc, RuleError):
        return exc
    if isinstance(exc, ObjectDeletedError):
        return RuleError(GONE.format(what="What you were working on"), status=404)
    if isinstance(exc, StaleDataError):
        return RuleError(CHANGED.format(what="What you were working on"), status=409)
    if isinstance(exc, IntegrityError):
        name = _unique_name(exc)
        if name in UNIQUE_KEYS:
            field, message = UNIQUE_KEYS[name]
            return RuleError(message, field, 409 if name == "uq_hostings_one_owner" else 422)
        state = _sqlstate(exc) or ""
        text = str(exc.orig)
        if state in ("23514", "23502") or text.startswith(("CHECK constraint failed", "NOT NULL constraint failed")):
            return RuleError("A value is not allowed here. Check the form and try again.", status=422)
        # a foreign key (something this change refers to changed or went) or an unnamed unique key
        return RuleError(CHANGED.format(what="Something this change depends on"), status=409)
    if isinstance(exc, DataError):
        # PostgreSQL refuses NUL bytes in text and values longer than the column; SQLite stores both.
        return RuleError("A value is too long, or contains a character the database cannot take "
                         "(such as a NUL byte). Correct it and try again.", status=422)
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        if _sqlstate(exc) in PG_RETRYABLE or "database is locked" in text or "database table is locked" in text:
            return RuleError(BUSY, status=409)
    return None


def guarded(fn):
    """A domain write that either succeeds with everything flushed or raises RuleError (see ``explain``).

    A database refusal also rolls the session back (its transaction cannot go on).
    """

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.flush()
        except RuleError:
            raise
        except SQLAlchemyError as exc:
            err = explain(exc)
            if err is None:
                raise
            # The refused transaction is over: roll back now, so the caller can read again
            # (to show the form) before it turns to the error.
            db.session.rollback()
            raise err from exc
        return result

    return wrapper


def lock(obj) -> None:
    """Hold ``obj``'s row until the transaction ends, then read everything again (404 if it is gone).

    Everything this request read before is expired, since another request may have
    changed it before the lock was ours; what is read from here on is current.
    """
    db.session.flush()
    ident = inspect(obj).identity
    if ident is None:  # not in the database yet: nobody else can see it
        return
    table = type(obj).__table__
    result = db.session.execute(
        update(table).where(table.c.id == ident[0]).values(version=table.c.version)
    )
    if result.rowcount != 1:
        raise RuleError(GONE.format(what=_label(obj)), status=404)
    db.session.expire_all()


def stale(obj) -> RuleError:
    return RuleError(CHANGED.format(what=_label(obj)), status=409)
