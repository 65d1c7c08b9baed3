"""CSV import of companies, contacts and rooms: read the file, then run each row through the same
domain functions as the screens (create_company, update_contact, create_room, link…), so the same
rules apply and each refusal comes back in the same words.

``run_import`` always works inside one transaction: each row in a savepoint of its own, so a refused
row is undone and the next one is still checked. The caller commits only a confirmed import without
a single refused row; a dry run (the preview) and an import with a refused row are rolled back whole.
"""
from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from extensions import db

from .companies import create_company, update_company
from .contacts import create_contact, update_contact
from .errors import RuleError
from .hosting import link
from .rooms import create_room, update_room
from .schema import Company, Contact, Room

KINDS = ("companies", "contacts", "rooms")
ENCODINGS = {"utf-8": "UTF-8 (with or without a BOM)", "latin-1": "Latin-1 (ISO-8859-1)"}
# Per kind: the columns a file must have, those it may have, and those an export adds that an import
# ignores (counts and dates the portal sets itself). Any other column is refused by name.
COLUMNS = {
    "companies": {"required": ("name",), "optional": ("type", "status", "branded"),
                  "read_only": ("created", "live_contacts", "live_rooms")},
    "contacts": {"required": ("email", "first_name", "last_name", "company"), "optional": ("phone",),
                 "read_only": ("state", "created")},
    "rooms": {"required": ("name", "company", "product_type"),
              "optional": ("slug", "status", "end_date", "max_participants", "pin", "lobby", "recording",
                           "suspended", "hosts"),
              "read_only": ("created",)},
}
KEY = {"companies": "name", "contacts": "email", "rooms": "slug"}
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0", ""}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def template_header(kind: str) -> list[str]:
    cols = COLUMNS[kind]
    return [*cols["required"], *cols["optional"]]


def export_header(kind: str) -> list[str]:
    return [*template_header(kind), *COLUMNS[kind]["read_only"]]


@dataclass
class RowResult:
    line: int
    key: str
    action: str  # "create", "update", "no change" or "error"
    detail: str = ""


@dataclass
class ImportResult:
    kind: str
    rows: list[RowResult] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def errors(self) -> int:
        return self.count("error")


# ---------------------------------------------------------------- reading the file


def decode(raw: bytes, encoding: str) -> str:
    """The file's text, or a RuleError that says what the encoding seems to be instead."""
    if encoding not in ENCODINGS:
        raise RuleError("Choose the file's encoding: UTF-8 or Latin-1.", "encoding")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4096]:
        raise RuleError("The file is UTF-16 or not a text file. Save it as “CSV UTF-8” and upload it again.", "file")
    if encoding == "utf-8":
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = raw[: err.start].count(b"\n") + 1
            raise RuleError(
                f"The file is not UTF-8: byte 0x{raw[err.start]:02X} on line {line} is not valid UTF-8. "
                "If it was saved as Latin-1 (Windows “CSV”), choose Latin-1 and upload it again.", "encoding")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise RuleError("The file starts with a UTF-8 byte order mark, so it is UTF-8, not Latin-1. "
                        "Choose UTF-8 and upload it again.", "encoding")
    try:
        if any(b > 0x7F for b in raw):
            raw.decode("utf-8")
            raise RuleError("The file reads as UTF-8 (its accents are UTF-8 byte pairs), not Latin-1. "
                            "Choose UTF-8 and upload it again.", "encoding")
    except UnicodeDecodeError:
        pass
    return raw.decode("latin-1")


def _undefuse(value: str) -> str:
    """A cell an export defused ('=x) reads back as it was (=x)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def read_rows(kind: str, text: str) -> list[tuple[int, dict]]:
    """(line number, {column: value}) for each data row, or a RuleError naming the columns that are
    missing or not known (with the close match when one was misspelled). Columns may come in any order."""
    if kind not in KINDS:
        raise RuleError("Choose what the file holds: companies, contacts or rooms.", "kind")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise RuleError("The file is empty: its first line must name the columns.", "file")
        names = [h.strip().lower().replace(" ", "_") for h in header]
        cols = COLUMNS[kind]
        known = set(cols["required"]) | set(cols["optional"]) | set(cols["read_only"])
        problems = []
        for name in names:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f" (did you mean “{close[0]}”?)" if close else ""
                problems.append(f"column “{name}” is not known{hint}")
        dupes = sorted({n for n in names if names.count(n) > 1})
        problems += [f"column “{n}” appears twice" for n in dupes]
        missing = [c for c in cols["required"] if c not in names]
        if missing:
            problems.append(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
        if problems:
            expected = ", ".join(template_header(kind))
            raise RuleError(f"The columns do not match a {kind} file: {'; '.join(problems)}. "
                            f"Expected: {expected} (in any order).", "file")
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            line = reader.line_num
            if len(values) != len(names):
                rows.append((line, {"__error__": f"has {len(values)} cells, but the header has {len(names)} columns"}))
                continue
            rows.append((line, {n: _undefuse(v.strip()) for n, v in zip(names, values) if n not in cols["read_only"]}))
    except csv.Error as err:
        raise RuleError(f"The file is not valid CSV: {err} (line {reader.line_num}).", "file")
    if not rows:
        raise RuleError("The file has a header but no rows to import.", "file")
    return rows


# ---------------------------------------------------------------- one row each


def _flag(row: dict, name: str, current: bool = False) -> bool:
    if name not in row:
        return current
    value = row[name].lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise RuleError(f"{name.replace('_', ' ').capitalize()} must be yes or no (not “{row[name]}”).", name)


def _company_named(name: str) -> Company:
    """The company of this name in the importer's scope (names ignore case), or a RuleError."""
    if not name:
        raise RuleError("Company is required.", "company")
    company = db.session.execute(select(Company).where(Company.name_key == name.lower())).scalar_one_or_none()
    if company is None:
        raise RuleError(f"There is no company named “{name}” (import the companies first).", "company")
    return company


def _snapshot(obj) -> dict:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs if c.key != "version"}


def _changes(before: dict, after: dict) -> str:
    diff = [k for k in before if before[k] != after[k] and k not in ("name_key", "converted_at")]
    return ", ".join(f"{k}: {before[k] if before[k] not in (None, '') else 'none'} → "
                     f"{after[k] if after[k] not in (None, '') else 'none'}" for k in diff)


def _company_row(row: dict, reseller_id: int):
    name = row.get("name", "")
    existing = db.session.execute(select(Company).where(Company.name_key == name.lower())).scalar_one_or_none() \
        if name else None
    data = {"name": name, "type": row.get("type") or (existing.type if existing else "Business"),
            "status": row.get("status") or (existing.status if existing else "prospect"),
            "branded": _flag(row, "branded", existing.branded if existing else False)}
    if existing is None:
        create_company(reseller_id, data)
        return None, None
    return existing, lambda: update_company(existing, data)


def _contact_row(row: dict, reseller_id: int):
    email = row.get("email", "").lower()
    company = _company_named(row.get("company", ""))
    data = {"email": email, "first_name": row.get("first_name"), "last_name": row.get("last_name"),
            "phone": row.get("phone", "")}
    existing = db.session.execute(select(Contact).where(Contact.email == email)).scalar_one_or_none() if email else None
    if existing is None:
        create_contact(company, data)
        return None, None
    if existing.company_id != company.id:
        raise RuleError(f"{existing.name} is a contact of {existing.company.name}, not {company.name}. "
                        "Use Change company on the contact to move them.", "company")
    if "phone" not in row:
        data["phone"] = existing.phone
    return existing, lambda: update_contact(existing, data)


def _room_row(row: dict, reseller_id: int):
    company = _company_named(row.get("company", ""))
    slug = row.get("slug", "").lower()
    existing = db.session.execute(select(Room).where(Room.slug == slug)).scalar_one_or_none() if slug else None
    current = existing
    data = {
        "name": row.get("name"), "product_type": row.get("product_type"),
        "status": row.get("status") or (current.status if current else "trial"),
        "end_date": row.get("end_date", current.end_date.isoformat() if current and current.end_date else ""),
        "max_participants": row.get("max_participants") or (current.max_participants if current else ""),
        "pin": row.get("pin", current.pin if current else ""), "slug": slug,
        "lobby": _flag(row, "lobby", current.lobby if current else False),
        "recording": _flag(row, "recording", current.recording if current else False),
        "suspended": _flag(row, "suspended", current.suspended if current else False),
    }
    emails = [e.strip().lower() for e in row.get("hosts", "").replace(",", ";").split(";") if e.strip()]

    def link_hosts(room):
        for email in emails:
            contact = db.session.execute(select(Contact).where(Contact.email == email)).scalar_one_or_none()
            if contact is None:
                raise RuleError(f"Host {email}: there is no contact with this email.", "hosts")
            if not any(h.contact_id == contact.id for h in room.hostings):
                link(room, contact)

    if existing is None:
        link_hosts(create_room(company, data))
        return None, None
    if existing.company_id != company.id:
        raise RuleError(f"The room {existing.name} ({slug}) belongs to {existing.company.name}, not {company.name}. "
                        "A room cannot move to another company.", "company")
    hosts_before = len(existing.hostings)

    def update():
        update_room(existing, data)
        link_hosts(existing)
        return len(existing.hostings) - hosts_before

    return existing, update


ROW_FUNCS = {"companies": _company_row, "contacts": _contact_row, "rooms": _room_row}


def _open_transaction() -> None:
    """SQLite's driver (pysqlite) sends BEGIN only before a write, so a SAVEPOINT before any write would be a
    transaction of its own, and its RELEASE a commit. A write that changes nothing opens the transaction."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE resellers SET id = id WHERE 0 = 1"))


def run_import(kind: str, rows: list[tuple[int, dict]], reseller_id: int) -> ImportResult:
    """Each row through the domain, in a savepoint: create, update, no change, or the error in words.
    Leaves the work in the session's transaction: the caller commits it, or rolls it back."""
    result = ImportResult(kind)
    for _done in import_rows(result, rows, reseller_id):
        pass
    return result


def import_rows(result: ImportResult, rows: list[tuple[int, dict]], reseller_id: int) -> Iterator[int]:
    """``run_import`` one row at a time: adds each row's outcome to ``result`` and yields how many rows
    are done, so a caller can show progress while the one transaction runs (blueprints/imports.py)."""
    kind = result.kind
    _open_transaction()
    seen: dict[str, int] = {}
    for done, (line, row) in enumerate(rows, 1):
        key = row.get(KEY[kind], "").lower() if "__error__" not in row else ""
        label = row.get(KEY[kind]) or row.get("name") or ""
        if kind == "rooms" and not key and "__error__" not in row:  # a new room: its name in its company
            key = f"{row.get('name', '').lower()} in {row.get('company', '').lower()}"
        if "__error__" in row:
            result.rows.append(RowResult(line, label, "error", f"Line {line} {row['__error__']}."))
            yield done
            continue
        if key and key in seen:
            what = f"{KEY[kind]} “{label}”" if row.get(KEY[kind]) else f"the room “{label}” of {row.get('company')}"
            result.rows.append(RowResult(line, label, "error", f"Duplicate row: line {seen[key]} already has {what}."))
            yield done
            continue
        if key:
            seen[key] = line
        savepoint = db.session.begin_nested()
        try:
            existing, update = ROW_FUNCS[kind](row, reseller_id)
            if existing is None:
                outcome = RowResult(line, label, "create")
            else:
                before = _snapshot(existing)
                more = update()
                more_hosts = more if type(more) is int else 0  # rooms: the Hosts linked by this row
                db.session.flush()
                changes = _changes(before, _snapshot(existing))
                if more_hosts:
                    changes = ", ".join(filter(None, [changes, f"{more_hosts} more Host{'s' if more_hosts > 1 else ''}"]))
                outcome = RowResult(line, label, "update" if changes else "no change", changes)
            savepoint.commit()
            result.rows.append(outcome)
        except RuleError as err:
            if savepoint.is_active:
                savepoint.rollback()
            result.rows.append(RowResult(line, label, "error", err.message))
            if isinstance(err.__cause__, SQLAlchemyError):
                # the database refused the row, and its transaction is over: stop here
                result.rows.append(RowResult(line, "", "error", "The import stopped here: try it again."))
                return
        yield done
