"""Tenant scoping: one hook filters every ORM SELECT of a tenant model by the signed-in Scope.

Objects are fetched by id only through ``get_or_404``. ``Session.get`` and Core
statements skip the hook; the domain uses them only with ``unscoped`` on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import abort, g, has_request_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, with_loader_criteria

from extensions import db

from .audit_event import AuditEvent
from .schema import Company, Contact, Hosting, Role, Room
from .trash_schema import TrashItem

# The audit trail is scoped like the rest: a reseller sees its own events; an Owner or Host
# those of their company (the History of what they may see).
TENANT_MODELS = (Company, Contact, Room, Hosting, TrashItem, AuditEvent)


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
    if user.has_role(Role.ADMINISTRATOR):
        return Scope(everything=True)
    if user.has_role(Role.RESELLER):
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
    state.statement = state.statement.options(*_criteria(scope.reseller_id, scope.company_id))


@lru_cache(maxsize=1024)
def _criteria(rid: int, cid: int | None) -> tuple:
    """The loader criteria of a scope, built once per scope (every SELECT of every request adds them)."""
    opts = [
        with_loader_criteria(model, lambda cls: cls.reseller_id == rid, include_aliases=True)
        for model in TENANT_MODELS
    ]
    if cid is not None:
        opts.append(with_loader_criteria(Company, lambda cls: cls.id == cid, include_aliases=True))
        opts += [
            with_loader_criteria(model, lambda cls: cls.company_id == cid, include_aliases=True)
            for model in (Contact, Room, Hosting, TrashItem, AuditEvent)
        ]
    return tuple(opts)


MAX_INT = 2**31 - 1  # ids are INTEGER columns (PostgreSQL int4)


def get_or_404(model, ident, options=()):
    """The scoped object with this id, or 404. Never Session.get (it skips the scope).
    ``options``: loader options, e.g. to fetch what the screen shows with it."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < ident <= MAX_INT:  # beyond the id column's range: no such row (and no driver overflow)
        abort(404)
    obj = db.session.execute(select(model).where(model.id == ident).options(*options)).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj
