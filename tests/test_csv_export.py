"""CSV export of the lists: UTF-8 with a BOM, formula cells defused, the list's filters and search
honoured, and the body streamed (a generator response, written in chunks)."""
import contextvars
import csv
import io
from datetime import datetime

import pytest
from flask.testing import FlaskClient

import models
from csv_export import BATCH, csv_chunks, stream_csv
from extensions import db
from models.imports import export_header

from . import factories


def fetch(client, url):
    """The export read to its end inside the request's own context (the test client runs each request in a
    context of its own, and a streamed body is produced while it is read): (streamed?, chunks)."""
    def run():
        resp = FlaskClient.open(client, url)
        return resp, resp.is_streamed, list(resp.response)
    db.session.rollback()
    resp, streamed, chunks = contextvars.Context().run(run)
    resp.set_data(b"".join(chunks))
    resp.chunks, resp.was_streamed = chunks, streamed
    return resp


def rows_of(resp) -> list[list[str]]:
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_export_companies_has_bom_header_and_rows(reseller_client, world):
    resp = fetch(reseller_client, "/companies/export.csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="companies.csv"' == resp.headers["Content-Disposition"]
    rows = rows_of(resp)
    assert rows[0] == export_header("companies")
    names = [r[0] for r in rows[1:]]
    assert "A Corp" in names and "B Corp" not in names  # the tenant scope holds
    a_corp = next(r for r in rows[1:] if r[0] == "A Corp")
    assert a_corp[1:4] == ["Business", "customer", "no"]
    assert a_corp[5:] == ["2", "2"]  # live contacts, live rooms


def test_export_defuses_formula_cells(reseller_client, world):
    for i, name in enumerate(["=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", "\tTabbed"]):
        factories.company(world.a.reseller, name)
    factories.company(world.a.reseller, "Zoë & Søn, Ltd \"quoted\"")
    rows = rows_of(fetch(reseller_client, "/companies/export.csv"))
    names = {r[0] for r in rows[1:]}
    assert {"'=HYPERLINK(\"http://evil\")", "'+1+1", "'-2", "'@SUM(A1)"} <= names
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)
    assert "Zoë & Søn, Ltd \"quoted\"" in names  # commas, quotes and accents survive


@pytest.mark.parametrize("path, expected, absent", [
    ("/rooms/export.csv?status=paid+subscriber", ["A Personal"], ["A Team"]),
    ("/rooms/export.csv?q=team", ["A Team"], ["A Personal"]),
    ("/rooms/export.csv?type=team+room&status=trial", ["A Team"], ["A Personal"]),
    ("/companies/export.csv?status=prospect", ["Prospect Ltd"], ["A Corp"]),
    ("/companies/export.csv?q=prosp", ["Prospect Ltd"], ["A Corp"]),
    ("/contacts/export.csv?q=A0", ["A0"], ["A1"]),
])
def test_export_honours_the_lists_filters_and_search(reseller_client, world, path, expected, absent):
    factories.company(world.a.reseller, "Prospect Ltd", status="prospect")
    rows = rows_of(fetch(reseller_client, path))
    text = "\n".join(",".join(r) for r in rows[1:])
    for name in expected:
        assert name in text, path
    for name in absent:
        assert name not in text, path


def test_export_of_one_company_and_sort(reseller_client, world):
    other = factories.company(world.a.reseller, "A Two")
    factories.room(other, "Zed Room")
    factories.room(other, "Alpha Room")
    rows = rows_of(fetch(reseller_client, f"/rooms/export.csv?company={other.id}&sort=-name"))
    assert [r[0] for r in rows[1:]] == ["Zed Room", "Alpha Room"]
    assert fetch(reseller_client, f"/rooms/export.csv?company={world.b.company.id}").status_code == 404


def test_export_rooms_lists_hosts_owner_first(reseller_client, world):
    factories.link(world.a.team, world.a.contacts[1])
    rows = rows_of(fetch(reseller_client, "/rooms/export.csv?q=team"))
    header = rows[0]
    team = dict(zip(header, rows[1]))
    assert team["hosts"] == f"{world.a.contacts[0].email}; {world.a.contacts[1].email}"
    assert team["status"] == "trial" and team["end_date"] == world.a.team.end_date.isoformat()


def test_export_link_in_the_toolbar_carries_the_list_state(reseller_client, world):
    body = reseller_client.get("/rooms?q=team&status=trial&sort=-end").get_data(as_text=True)
    assert 'id="room-export"' in body
    assert '/rooms/export.csv?q=team&amp;sort=-end&amp;status=trial' in body
    # a search swaps the rows and sends the link again, out of band, with the new state
    frag = reseller_client.get("/rooms?q=pers", htmx=True, headers={"HX-Target": "room-rows"}).get_data(as_text=True)
    assert 'id="room-export"' in frag and 'hx-swap-oob="true"' in frag and "/rooms/export.csv?q=pers" in frag


def test_owner_exports_only_their_company(client, auth, world):
    other = factories.company(world.a.reseller, "Neighbour Ltd")
    factories.room(other, "Neighbour Room")
    me = factories.owner(world.a.company)
    auth.login(me.email)
    rows = rows_of(fetch(client, "/rooms/export.csv"))
    names = [r[0] for r in rows[1:]]
    assert sorted(names) == ["A Personal", "A Team"]
    rows = rows_of(fetch(client, "/companies/export.csv"))
    assert [r[0] for r in rows[1:]] == ["A Corp"]


def test_host_may_not_export(client, auth, world):
    auth.login(world.a.contacts[0].email)
    assert fetch(client, "/rooms/export.csv").status_code == 404


def test_stream_csv_is_a_generator_in_chunks(app):
    """The body is produced while it is sent: rows are pulled from the iterable chunk by chunk."""
    pulled = []

    def rows():
        for i in range(BATCH * 3 + 1):
            pulled.append(i)
            yield (i, f"row {i}")

    with app.test_request_context():
        resp = stream_csv("x.csv", ["n", "text"], rows())
        assert resp.is_streamed
        chunks = iter(resp.response)
        first = next(chunks)
        assert first.startswith(b"\xef\xbb\xbfn,text\r\n")
        assert pulled == []  # nothing read yet beyond the header
        second = next(chunks)
        assert len(pulled) == BATCH and second.count(b"\r\n") == BATCH
        rest = b"".join(chunks)
    assert len(pulled) == BATCH * 3 + 1 and rest.count(b"\r\n") == BATCH * 2 + 1


def test_csv_chunks_formats_values():
    text = "".join(csv_chunks(["a", "b", "c", "d"], [(None, True, datetime(2026, 1, 2, 3, 4), "-x")]))
    assert text == "\ufeffa,b,c,d\r\n,yes,2026-01-02 03:04,'-x\r\n"


def test_export_streams_a_large_list_in_batches(reseller_client, world):
    """2,500 rooms: the export reads them in batches (yield_per) and all arrive, in order."""
    from sqlalchemy import insert

    from models import Room
    rows = [{"reseller_id": world.a.reseller.id, "company_id": world.a.company.id, "name": f"Bulk {i:05d}",
             "name_key": f"bulk {i:05d}", "product_type": "team room", "status": "paid subscriber",
             "slug": f"bulk-{i}", "created_at": datetime(2026, 1, 1), "version": 1} for i in range(2500)]
    db.session.execute(insert(Room), rows)
    db.session.commit()
    resp = fetch(reseller_client, "/rooms/export.csv?status=paid+subscriber&sort=name")
    assert resp.was_streamed and len(resp.chunks) >= 5  # the header, then a chunk per batch of rows
    names = [r[0] for r in rows_of(resp)[1:]]
    assert names[:2] == ["A Personal", "Bulk 00000"] and names[-1] == "Bulk 02499" and len(names) == 2501


def test_export_activity_with_its_filters(reseller_client, world, other_client):
    """The Activity exports what its filters show, newest first, in the tenant's scope, formulas defused."""
    from .test_activity_coverage import room_form
    room = world.a.team
    assert reseller_client.post(f"/rooms/{room.id}", data=room_form(room, name="=Team"), htmx=True).status_code == 200
    b = world.b.company
    assert other_client.post(f"/companies/{b.id}", data={"name": "B Corp Renamed", "type": b.type, "status": "prospect",
                                                           "version": b.version}, htmx=True).status_code == 200
    resp = fetch(reseller_client, "/activity/export.csv?type=Room")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"] == 'attachment; filename="activity.csv"'
    rows = rows_of(resp)
    assert rows[0][:4] == ["id", "when", "who", "what"]
    body = rows[1:]
    assert body and all(r[4] == "Room" for r in body)
    assert [int(r[0]) for r in body] == sorted((int(r[0]) for r in body), reverse=True)
    edit = next(r for r in body if r[3] == "Edited")
    assert edit[2] == world.a.staff.name and "name: A Team -> =Team" in edit[9]
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in body for cell in r)
    everything = fetch(reseller_client, "/activity/export.csv").get_data(as_text=True)
    assert "=Team" in everything and "B Corp Renamed" not in everything  # another reseller's events stay out
    bad = reseller_client.get("/activity/export.csv?from=yesterday")
    assert bad.status_code == 422 and "From must be a date" in bad.get_data(as_text=True)
