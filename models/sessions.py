"""Sign-in sessions that end: log out, idle and lifetime limits, and "End sessions".

Two server-side facts end a first-party session (a signed cookie) before it runs out on its own:

- its session id is in ``ended_sessions``: that browser logged out. Only that one session
  ends; the person's other browsers and their partner's embed frame stay signed in, as people
  expect from "Log out" (the id is random, so the table says nothing about who is signed in);
- the contact's ``session_epoch`` moved on (``end_all_sessions``: a new password, a suspension,
  a reseller's "End sessions"): every session of that person ends, embed sessions too, since
  they carry the epoch they were issued with.

The idle and lifetime limits need no table: the signed cookie carries when it was issued and
when it was last used (``login_sessions`` checks both on every request).
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import DateTime, Integer, String, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, joinedload, mapped_column

from extensions import db

from .audit import audit
from .schema import Contact, utcnow


class EndedSession(db.Model):
    """A first-party session that logged out, kept until it would have run out anyway."""

    __tablename__ = "ended_sessions"
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


def end_login_session(sid: str, expires_at: datetime) -> None:
    """This one session has logged out (the caller commits). Forgets sessions past their lifetime."""
    db.session.execute(EndedSession.__table__.delete().where(EndedSession.expires_at < utcnow()))
    if db.session.execute(select(EndedSession.sid).where(EndedSession.sid == sid)).first() is None:
        db.session.add(EndedSession(sid=sid, expires_at=expires_at))
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:  # the same session logged out twice at once
            pass


def signed_in(contact_id: int, sid) -> tuple[Contact | None, str | None]:
    """The signed-in contact (with their reseller, which the layout reads on every page) and, if this
    session logged out, its id: one query on every request, built once (_signed_in_statement)."""
    row = db.session.execute(_signed_in_statement(),
                             {"contact_id": contact_id, "sid": sid if isinstance(sid, str) else ""}).one_or_none()
    return (row[0], row[1]) if row is not None else (None, None)


@lru_cache(maxsize=1)
def _signed_in_statement():
    ended = select(EndedSession.sid).where(EndedSession.sid == bindparam("sid", type_=String)).scalar_subquery()
    return (select(Contact, ended).where(Contact.id == bindparam("contact_id", type_=Integer))
            .options(joinedload(Contact.reseller)).execution_options(unscoped=True))


def end_all_sessions(contact: Contact, summary: str | None = None) -> None:
    """End every session of the contact, first-party and embed (the caller commits). Audited."""
    old = contact.session_epoch
    contact.session_epoch = old + 1
    db.session.flush()
    audit("end_sessions", contact, summary or f"Ended every session of {contact.name}",
          {"session_epoch": [old, contact.session_epoch]})
