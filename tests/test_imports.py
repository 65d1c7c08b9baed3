"""CSV import: the template, the dry-run preview (create, update, no change, or the error in words),
the confirm in one transaction, and each kind of bad file. Nothing is written by a preview, nor by a
confirm that finds a refused row."""
import base64
import contextvars
import html
import io
import re
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from extensions import db
from models import Company, Contact, Hosting, Room

from . import factories
from .test_csv_export import fetch
from .test_tenancy import _table_snapshot

NOW = datetime(2026, 6, 15, 12, 0)


@pytest.fixture(autouse=True)
def _now(frozen_now):
    frozen_now(NOW)


def post_file(client, kind, content, encoding="utf-8", filename="data.csv", htmx=False):
    if isinstance(content, str):
        content = content.encode("utf-8")
    data = {"kind": kind, "encoding": encoding, "file": (io.BytesIO(content), filename)}
    return client.post("/import/preview", data=data, content_type="multipart/form-data", htmx=htmx)


ROW = re.compile(r'<tr class="import-([a-z-]+)"><td>(\d+)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>', re.S)


def results(resp) -> list[tuple[str, int, str, str]]:
    """(action, line, key, detail) of each row of the preview table."""
    return [(action.replace("-", " "), int(line), html.unescape(key), html.unescape(detail))
            for action, line, key, _a, detail in ROW.findall(resp.get_data(as_text=True))]


def payload_of(resp) -> str | None:
    m = re.search(r'name="payload" value="([^"]+)"', resp.get_data(as_text=True))
    return m.group(1) if m else None


def text(resp) -> str:
    return html.unescape(re.sub(r"\s+", " ", resp.get_data(as_text=True)))


# ---------------------------------------------------------------- the screens


def test_index_shows_the_form_and_templates(reseller_client, world):
    resp = reseller_client.get("/import?kind=rooms")
    assert resp.status_code == 200 and "<html" in resp.get_data(as_text=True)
    body = text(resp)
    assert 'id="import-screen"' in body and "Template for rooms" in body and "Latin-1" in body
    frag = reseller_client.get("/import", htmx=True).get_data(as_text=True)
    assert "<html" not in frag and 'id="import-screen"' in frag


@pytest.mark.parametrize("kind, header", [
    ("companies", "name,type,status,branded"),
    ("contacts", "email,first_name,last_name,company,phone"),
    ("rooms", "name,company,product_type,slug,status,end_date,max_participants,pin,lobby,recording,suspended,hosts"),
])
def test_template_csv(reseller_client, world, kind, header):
    resp = fetch(reseller_client, f"/import/template.csv?kind={kind}")
    assert resp.status_code == 200
    assert resp.get_data() == b"\xef\xbb\xbf" + header.encode() + b"\r\n"
    assert reseller_client.get("/import/template.csv?kind=nope").status_code == 422


# ---------------------------------------------------------------- preview and confirm


def test_preview_shows_create_update_and_no_change_and_writes_nothing(reseller_client, world):
    factories.company(world.a.reseller, "Stays Ltd", type="Education", status="prospect")
    factories.company(world.a.reseller, "Changes Ltd", type="Business", status="prospect")
    before = _table_snapshot()
    csv_text = ("status,name,type,branded\n"  # reordered columns are fine
                "customer,New Co,Healthcare,yes\n"
                "prospect,Stays Ltd,Education,no\n"
                "customer,changes ltd,Business,no\n")
    resp = post_file(reseller_client, "companies", csv_text, htmx=True)
    assert resp.status_code == 200
    assert "<html" not in resp.get_data(as_text=True)
    rows = results(resp)
    assert [(r[0], r[1], r[2]) for r in rows] == [("create", 2, "New Co"), ("no change", 3, "Stays Ltd"),
                                                  ("update", 4, "changes ltd")]
    assert "status: prospect → customer" in rows[2][3] and "name: Changes Ltd → changes ltd" in rows[2][3]
    assert "1 to create, 1 to update, 1 with no change, 0 with an error" in text(resp)
    assert _table_snapshot() == before  # a dry run
    assert payload_of(resp)
    assert "Importing 3 rows" in text(resp) and "<progress" in resp.get_data(as_text=True)


def test_confirm_runs_the_import(reseller_client, world):
    csv_text = "name,type,status,branded\nNew Co,Healthcare,customer,yes\nOther Co,Education,prospect,no\n"
    token = payload_of(post_file(reseller_client, "companies", csv_text))
    resp = reseller_client.post("/import", data={"payload": token}, htmx=True)
    assert resp.status_code == 200
    assert "Imported companies: 2 created, 0 updated, 0 unchanged." in text(resp)
    assert "toast" in resp.headers["HX-Trigger"]
    new = db.session.execute(select(Company).where(Company.name == "New Co")).scalar_one()
    assert (new.reseller_id, new.type, new.status, new.branded) == (world.a.reseller.id, "Healthcare", "customer", True)
    # without htmx: 303 to the list, which shows the message
    token = payload_of(post_file(reseller_client, "companies", "name\nThird Co\n"))
    resp = reseller_client.post("/import", data={"payload": token})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/companies")


def test_import_contacts_and_rooms_with_hosts(reseller_client, world):
    a = world.a
    contacts = f"email,first_name,last_name,company,phone\nnew.person@a.example,New,Person,{a.company.name},+44 1\n"
    token = payload_of(post_file(reseller_client, "contacts", contacts))
    assert reseller_client.post("/import", data={"payload": token}).status_code == 303
    person = db.session.execute(select(Contact).where(Contact.email == "new.person@a.example")).scalar_one()
    assert person.company_id == a.company.id and person.phone == "+44 1"
    rooms = ("name,company,product_type,status,hosts,lobby\n"
             f"Imported Team,{a.company.name},team room,demo,new.person@a.example; {a.contacts[1].email},yes\n"
             f"{a.team.name},{a.company.name},team room,trial,{a.contacts[1].email},no\n")
    resp = post_file(reseller_client, "rooms", rooms)
    assert [r[0] for r in results(resp)] == ["create", "create"]  # no slug: a new room, with a slug of its own
    token = payload_of(resp)
    assert reseller_client.post("/import", data={"payload": token}).status_code == 303
    room = db.session.execute(select(Room).where(Room.slug == "imported-team")).scalar_one()
    assert room.lobby and room.status == "demo" and room.end_date is not None
    assert [h.contact.email for h in room.hostings] == ["new.person@a.example", a.contacts[1].email]
    assert room.owner.email == "new.person@a.example"
    # the existing team room, by its meeting link: one more Host
    resp = post_file(reseller_client, "rooms", f"slug,name,company,product_type,hosts\n{a.team.slug},{a.team.name},"
                                               f"{a.company.name},team room,{a.contacts[1].email}\n")
    assert results(resp)[0][0] == "update" and "1 more Host" in results(resp)[0][3]


def test_export_round_trip_is_no_change(reseller_client, world):
    """Export each list, import it again as a dry run: every row comes back as no change."""
    a = world.a
    factories.company(a.reseller, "=Formula & Co", type="Education", status="prospect", branded="1")
    extra = factories.room(a.company, "Ümlaut Room", status="demo", pin="1234", lobby="1", max_participants="40")
    factories.link(extra, a.contacts[1])
    factories.link(a.team, a.contacts[1])
    for kind in ("companies", "contacts", "rooms"):
        exported = fetch(reseller_client, f"/{kind}/export.csv").get_data()
        rows = results(post_file(reseller_client, kind, exported))
        assert rows and {r[0] for r in rows} == {"no change"}, (kind, rows)
    assert len(rows) == 3  # the rooms


# ---------------------------------------------------------------- bad files


def test_wrong_encoding_is_detected(reseller_client, world):
    latin = f"name,type\nCafé Zoë,Business\n".encode("latin-1")
    resp = post_file(reseller_client, "companies", latin, "utf-8")
    assert resp.status_code == 422
    assert "The file is not UTF-8: byte 0xE9 on line 2" in text(resp) and "choose Latin-1" in text(resp)
    resp = post_file(reseller_client, "companies", latin, "latin-1")
    assert resp.status_code == 200 and results(resp)[0][:3] == ("create", 2, "Café Zoë")
    utf8 = "name,type\nCafé Zoë,Business\n".encode("utf-8")
    resp = post_file(reseller_client, "companies", utf8, "latin-1")
    assert resp.status_code == 422 and "reads as UTF-8" in text(resp)
    resp = post_file(reseller_client, "companies", b"\xef\xbb\xbf" + utf8, "utf-8")  # a BOM is fine
    assert resp.status_code == 200 and results(resp)[0][2] == "Café Zoë"
    resp = post_file(reseller_client, "companies", "name\nX\n".encode("utf-16"), "utf-8")
    assert resp.status_code == 422 and "UTF-16" in text(resp)


@pytest.mark.parametrize("kind, header, message", [
    ("contacts", "emial,first_name,last_name,company", "column “emial” is not known (did you mean “email”?); missing column: email"),
    ("contacts", "email,first_name,company", "missing column: last_name"),
    ("companies", "name,type,fax", "column “fax” is not known"),
    ("rooms", "name,company", "missing column: product_type"),
    ("companies", "name,name", "column “name” appears twice"),
    ("companies", "", "The file is empty"),
])
def test_bad_columns_say_which(reseller_client, world, kind, header, message):
    before = _table_snapshot()
    resp = post_file(reseller_client, kind, header + "\nx,y,z,w\n")
    assert resp.status_code == 422
    assert message in text(resp)
    assert 'aria-invalid="true"' in resp.get_data(as_text=True)
    assert _table_snapshot() == before


def test_duplicate_rows_and_short_rows(reseller_client, world):
    csv_text = "name,type\nDup Co,Business\nOther,Business\ndup co,Education\nShort\n"
    rows = results(post_file(reseller_client, "companies", csv_text))
    assert rows[2] == ("error", 4, "dup co", "Duplicate row: line 2 already has name “dup co”.")
    assert rows[3][0] == "error" and "has 1 cells, but the header has 2 columns" in rows[3][3]
    rooms = f"name,company,product_type\nTwice,{world.a.company.name},team room\nTwice,{world.a.company.name},team room\n"
    rows = results(post_file(reseller_client, "rooms", rooms))
    assert rows[1] == ("error", 3, "Twice", f"Duplicate row: line 2 already has the room “Twice” of {world.a.company.name}.")


def test_rule_breaks_each_with_its_reason_and_nothing_written(reseller_client, world):
    a, b = world.a, world.b
    rooms = ("name,company,product_type,slug,hosts\n"
             f"Solo,{a.company.name},personal room,solo,{a.contacts[0].email};{a.contacts[1].email}\n"
             f"Nowhere,No Such Ltd,team room,,\n"
             f"Foreign,{b.company.name},team room,,\n"
             f"Fine Room,{a.company.name},team room,fine-room,\n")
    before = _table_snapshot()
    resp = post_file(reseller_client, "rooms", rooms)
    rows = results(resp)
    assert [r[0] for r in rows] == ["error", "error", "error", "create"]
    assert "is a personal room and already has its Host" in rows[0][3] and "at most one Host" in rows[0][3]
    assert rows[1][3] == "There is no company named “No Such Ltd” (import the companies first)."
    assert rows[2][3] == f"There is no company named “{b.company.name}” (import the companies first)."
    assert "Nothing was written" in text(resp) and payload_of(resp) is None
    contacts = ("email,first_name,last_name,company\n"
                f"{b.contacts[0].email},Steal,This,{a.company.name}\n"  # a contact of another reseller's company
                f"{a.contacts[0].email},Moved,Person,A Two\n")
    factories.company(a.reseller, "A Two")
    before = _table_snapshot()
    rows = results(post_file(reseller_client, "contacts", contacts))
    # the address belongs to a contact of another reseller's company: refused, in the words that tell
    # nothing about the other tenant
    assert rows[0][:2] == ("error", 2) and rows[0][3] == "This email cannot be used; ask the person for another."
    assert rows[1][0] == "error" and "Use Change company" in rows[1][3]
    # a confirm that finds a refused row writes nothing (the preview offered none; a forged one is re-checked)
    signer = URLSafeTimedSerializer("test-secret", salt="csv-import")
    token = signer.dumps({"u": a.staff.id, "k": "rooms", "e": "utf-8", "d": base64.b64encode(rooms.encode()).decode()})
    resp = reseller_client.post("/import", data={"payload": token})
    assert resp.status_code == 422 and "Nothing was written" in text(resp)
    assert _table_snapshot() == before


def test_tampered_expired_or_foreign_payload(reseller_client, world, app):
    token = payload_of(post_file(reseller_client, "companies", "name\nSigned Co\n"))
    before = _table_snapshot()
    resp = reseller_client.post("/import", data={"payload": token[:-3] + "abc"})
    assert resp.status_code == 422 and "expired or was changed" in text(resp)
    signer = URLSafeTimedSerializer("test-secret", salt="csv-import")
    other = signer.dumps({"u": world.a.contacts[0].id, "k": "companies", "e": "utf-8",
                          "d": base64.b64encode(b"name\nX\n").decode()})
    assert reseller_client.post("/import", data={"payload": other}).status_code == 422
    assert _table_snapshot() == before


def test_bad_cells_in_words(reseller_client, world):
    rows = results(post_file(reseller_client, "rooms",
                             "name,company,product_type,lobby,max_participants,end_date\n"
                             f"R1,{world.a.company.name},team room,perhaps,,\n"
                             f"R2,{world.a.company.name},team room,no,5000,\n"
                             f"R3,{world.a.company.name},kitchen,no,,\n"
                             f"R4,{world.a.company.name},team room,no,,2020-01-01\n"))
    assert rows[0][3] == "Lobby must be yes or no (not “perhaps”)."
    assert rows[1][3] == "Max participants must be between 2 and 1000."
    assert rows[2][3].startswith("Product type must be one of")
    assert rows[3][3].startswith("End date cannot be before the room was created")


def test_file_over_the_import_limit(reseller_client, world, app):
    big = b"name\n" + b"".join(b"Company %07d\n" % i for i in range(app.config["IMPORT_MAX_BYTES"] // 16 + 10))
    assert app.config["IMPORT_MAX_BYTES"] < len(big) < app.config["MAX_CONTENT_LENGTH"] - 10_000
    resp = post_file(reseller_client, "companies", big)
    assert resp.status_code == 422
    assert "an import file may be at most 2 MB" in text(resp)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_50_mb_body_is_413_with_a_clear_message(reseller_client, world, htmx):
    before = _table_snapshot()
    resp = post_file(reseller_client, "companies", b"name\n" + b"x" * (50 * 1024 * 1024), htmx=htmx)
    assert resp.status_code == 413
    assert "The upload is too large" in text(resp) and "at most 2 MB" in text(resp)
    assert _table_snapshot() == before


def test_no_file_or_no_kind(reseller_client, world):
    resp = reseller_client.post("/import/preview", data={"kind": "companies"}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "Choose a CSV file to upload." in text(resp)
    resp = post_file(reseller_client, "", "name\nX\n")
    assert resp.status_code == 422 and "Choose what the file holds" in text(resp)


@pytest.mark.parametrize("who", ["owner", "host", "admin"])
def test_only_reseller_staff_import(client, auth, world, who):
    person = {"owner": lambda: factories.owner(world.a.company), "host": lambda: world.a.contacts[0],
              "admin": factories.admin}[who]()
    auth.login(person.email)
    assert client.get("/import").status_code == 403
    assert post_file(client, "companies", "name\nX\n").status_code == 403
    assert db.session.execute(select(func.count()).select_from(Company).where(Company.name == "X")).scalar() == 0


@pytest.mark.parametrize("kind, content", [
    ("companies", bytes(range(256)) * 20),                           # binary
    ("companies", b"name\n" + b"x" * 200_000 + b"\n"),              # a field over the CSV module's limit
    ("companies", b"name\nok\n" + b"a" * 5000 + b"\x00b\n"),        # a NUL after the first 4 KB
    ("companies", b"\xef\xbb\xbfname,type\r\n"),                     # a header and no rows
    ("companies", b'name,type\n"unclosed,Business\n'),              # an unbalanced quote
    ("rooms", "name,company,product_type,end_date,hosts\nR,A Corp,team room,soon,nobody@x.example\n".encode()),
    ("contacts", ("email,first_name,last_name,company\n" + "x" * 300 + "@a.example,A,B,A Corp\n").encode()),
])
def test_odd_files_get_an_answer_not_a_500(reseller_client, world, kind, content):
    before = _table_snapshot()
    resp = post_file(reseller_client, kind, content)
    assert resp.status_code in (200, 422), resp.status_code
    body = text(resp)
    assert "Nothing was written" in body or 'role="alert"' in resp.get_data(as_text=True)
    assert _table_snapshot() == before


# ---------------------------------------------------------------- a large confirm streams its progress


def confirm_streamed(client, token) -> list[str]:
    """POST /import (a plain form post) and the streamed page's chunks as they were sent, read inside the
    request's own context (see test_csv_export.fetch)."""
    headers = {"X-CSRFToken": client.csrf_token()}

    def run():
        resp = FlaskClient.open(client, "/import", method="POST", data={"payload": token}, headers=headers)
        assert resp.status_code == 200 and resp.is_streamed
        return [html.unescape(chunk.decode("utf-8")) for chunk in resp.response]

    db.session.rollback()
    return contextvars.Context().run(run)


def where(chunks: list[str], needle: str) -> int:
    """The index of the first chunk that holds ``needle``."""
    return next(i for i, chunk in enumerate(chunks) if needle in chunk)


def test_a_large_confirm_streams_its_progress_then_the_result(reseller_client, world):
    csv_text = "name,type\n" + "".join(f"Bulk Co {i:04},Education\n" for i in range(1, 1001))
    resp = post_file(reseller_client, "companies", csv_text)
    assert "1000 to create" in text(resp) and len(results(resp)) == 1000
    body = resp.get_data(as_text=True)  # many rows: the confirm is a plain form post, so the page can stream
    confirm = body[body.index('id="import-confirm"') - 120:body.index("</form>", body.index('id="import-confirm"'))]
    assert "hx-post" not in confirm and 'hx-boost="false"' in confirm
    chunks = confirm_streamed(reseller_client, payload_of(resp))
    assert "<html" in chunks[0] and "Importing 1,000 rows of companies" in chunks[0]
    assert '<progress value="0" max="1000">' in chunks[0] and "Imported 0 of 1,000 rows…" in chunks[0]
    assert "import-done" not in chunks[0]
    ticks = [where(chunks, f"Imported {n:,} of 1,000 rows…") for n in (200, 400, 600, 800, 1000)]
    assert ticks == sorted(set(ticks)) and ticks[0] > 0, "each progress line in a chunk of its own, in order"
    assert f'<progress value="600" max="1000">' in chunks[ticks[2]]
    result = where(chunks, 'id="import-done"')
    assert result > ticks[-1]
    assert "Imported companies: 1000 created, 0 updated, 0 unchanged." in chunks[result]
    assert 'href="/companies"' in chunks[result] and "</html>" in chunks[-1]
    names = db.session.execute(select(Company.name).where(Company.name.like("Bulk Co %"))).scalars().all()
    assert len(names) == 1000 and {c.reseller_id for c in db.session.execute(
        select(Company).where(Company.name.like("Bulk Co %"))).scalars()} == {world.a.reseller.id}


def test_a_large_confirm_with_a_row_refused_near_the_end_writes_nothing(reseller_client, world):
    a = world.a
    csv_text = "email,first_name,last_name,company\n" + "".join(
        f"bulk{i:04}@a.example,Bulk,Person {i},{a.company.name}\n" for i in range(1, 1001))
    resp = post_file(reseller_client, "contacts", csv_text)
    assert "1000 to create" in text(resp)
    token = payload_of(resp)
    # meanwhile someone adds the 999th person to another company: the confirm refuses that row
    factories.contact(factories.company(a.reseller, "A Two"), email="bulk0999@a.example")
    before = _table_snapshot()
    chunks = confirm_streamed(reseller_client, token)
    ticks = [where(chunks, f"Imported {n:,} of 1,000 rows…") for n in (200, 400, 600, 800, 1000)]
    assert ticks == sorted(set(ticks))
    failed = where(chunks, 'id="import-failed"')
    assert failed > ticks[-1] and "import-done" not in "".join(chunks)
    page = re.sub(r"\s+", " ", "".join(chunks))
    assert "Nothing was written." in page
    refused = ROW.findall(chunks[failed])
    assert [(r[0], r[1]) for r in refused] == [("error", "1000")]
    assert f"is a contact of A Two, not {a.company.name}" in refused[0][4]
    assert _table_snapshot() == before  # the 998 rows before it were rolled back with it
    assert db.session.execute(select(func.count()).select_from(Contact).where(
        Contact.email.like("bulk%@a.example"))).scalar_one() == 1
