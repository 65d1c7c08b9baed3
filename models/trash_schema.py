"""The Trash's mapped class: what a delete (or an unlink) removed, kept as a snapshot for 30 days."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db

from .schema import utcnow

TRASH_KINDS = ("company", "contact", "room", "link")


class TrashItem(db.Model):
    """One delete: the object (``kind``, ``object_id``), what went with it (``details``, in words), who and
    when, and a JSON snapshot of every row removed (models/snapshot.py) that Restore puts back with
    their original ids. ``top_*_id``: the highest id of each table in the snapshot, so SQLite never
    gives a trashed row's id to a new row (models/snapshot.py, ``keep_trashed_ids``)."""

    __tablename__ = "trash_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id", ondelete="CASCADE"), index=True)
    # The company the object belonged to (a company's own id for a company): an Owner sees their company's.
    company_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="")
    deleted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    deleted_by: Mapped[int | None] = mapped_column(Integer)
    deleted_by_name: Mapped[str] = mapped_column(String(300), default="")
    snapshot: Mapped[str] = mapped_column(Text)
    top_company_id: Mapped[int | None] = mapped_column(Integer)
    top_contact_id: Mapped[int | None] = mapped_column(Integer)
    top_room_id: Mapped[int | None] = mapped_column(Integer)
    top_hosting_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = {"sqlite_autoincrement": True}  # an Undo link never finds another item under its id

    @property
    def kind_label(self) -> str:
        return {"link": "Host link"}.get(self.kind, self.kind.capitalize())
