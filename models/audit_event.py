"""The audit trail's table: one row per change, written in the change's own transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db

from .schema import utcnow


class AuditEvent(db.Model):
    """Who did what, when, and what changed from what to what.

    ``actor_name`` is kept as it was, so the trail still names someone deleted since.
    ``company_id`` is the company the object belonged to (a company's History shows its
    contacts' and rooms' events); ``related_type``/``related_id`` name a second object the
    event is about (the contact of a host link, the old company of a move), so it shows in
    that object's History too. The indexes serve each History and the Activity filters,
    newest first (id descending).
    """

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(300))
    reseller_id: Mapped[int | None] = mapped_column(Integer)
    company_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    related_type: Mapped[str | None] = mapped_column(String(40))
    related_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[str] = mapped_column(Text, default="{}")
    __table_args__ = (
        Index("ix_audit_events_reseller", "reseller_id", "id"),
        Index("ix_audit_events_object", "object_type", "object_id", "id"),
        Index("ix_audit_events_related", "related_type", "related_id", "id"),
        Index("ix_audit_events_company", "company_id", "id"),
        Index("ix_audit_events_actor", "actor_id", "id"),
    )
