"""History panels (company, contact, room) and the Activity log: filters, paging, scope, bad input."""
import re
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

import models
from extensions import db
from models import AuditEvent

from . import factories
from .conftest import AuthActions, page_text


def history_url(kind, obj):
    return f"/{kind}/{obj.id}/history"


def entries(resp) -> list[str]:
    """The text of each event of a History or Activity answer, newest first."""
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip()
            for li in re.findall(r'<li class="event"[^>]*>(.*?)</li>\s*(?=<li class="event"|</ol>)', resp.text, re.S)]


def edit_room(client, room, **kw):
    form = {"name": room.name, "product_type": room.product_type, "status": room.status,
            "end_date": room.end_date.isoformat() if room.end_date else "", "slug": room.slug,
            "max_participants": room.max_participants, "pin": room.pin or "", "version": room.version, **kw}
    resp = client.post(f"/rooms/{room.id}", data=form, htmx=True)
    assert resp.status_code == 200, resp.text[:300]
    db.session.refresh(room)


# ---------------------------------------------------------------- History panels


@pytest.mark.parametrize("kind", ["companies", "contacts", "rooms"])
def test_history_full_page_and_fragment(reseller_client, world, kind):
    obj = {"companies": world.a.company, "contacts": world.a.contacts[0], "rooms": world.a.team}[kind]
    full = reseller_client.get(history_url(kind, obj))
    assert full.status_code == 200 and "<html" in full.text and 'id="history-panel"' in full.text
    frag = reseller_client.get(history_url(kind, obj), htmx=True, headers={"HX-Target": "panel"})
    assert frag.status_code == 200 and "<html" not in frag.text and 'id="history-panel"' in frag.text
    assert "data-close-panel" in frag.text and "Created" in frag.text


def test_room_history_shows_the_edit_with_who_when_and_before_after(reseller_client, world, frozen_now):
    frozen_now(datetime(2026, 11, 20, 9, 30))
    edit_room(reseller_client, world.a.team, name="A Team Renamed", max_participants="30")
    frozen_now(None)
    first = entries(reseller_client.get(history_url("rooms", world.a.team), htmx=True))[0]
    assert first.startswith("Edited Room")
    assert world.a.staff.name in first and "2026-11-20 09:30 UTC" in first
    assert "name : A Team → A Team Renamed" in first and "max participants : 25 → 30" in first


def test_history_is_newest_first_and_shows_links_in_the_contacts_history(reseller_client, world):
    a = world.a
    other = a.contacts[1]
    assert reseller_client.post(f"/rooms/{a.team.id}/hosts", data={"contact_id": other.id}, htmx=True).status_code == 200
    contact_events = entries(reseller_client.get(history_url("contacts", other), htmx=True))
    assert contact_events[0].startswith("Linked a Host Room") and "A Team" in contact_events[0]
    assert contact_events[-1].startswith("Created Contact")
    room_events = entries(reseller_client.get(history_url("rooms", a.team), htmx=True))
    assert room_events[0].startswith("Linked a Host") and f"host : — → {other.name}" in room_events[0]


def test_company_history_includes_its_contacts_and_rooms(reseller_client, world):
    a = world.a
    edit_room(reseller_client, a.personal, name="Personal Renamed")
    text = page_text(reseller_client.get(history_url("companies", a.company)))
    for expected in ("Created company A Corp", f"Created contact {a.contacts[0].name}", "Created team room A Team",
                     f"Linked {a.contacts[0].name} to A Team", "Edited room Personal Renamed"):
        assert expected in text
    assert "B Corp" not in text and "B Team" not in text


def test_company_history_shows_a_contact_who_moved_away(reseller_client, world):
    a = world.a
    second = factories.company(a.reseller, "A Second")
    resp = reseller_client.post(f"/contacts/{a.contacts[1].id}/change-company", data={"company_id": second.id}, htmx=True)
    assert resp.status_code < 400
    for company in (a.company, second):
        first = entries(reseller_client.get(history_url("companies", company), htmx=True))[0]
        assert first.startswith("Changed company Contact") and "company : A Corp → A Second" in first


def test_delete_restore_and_purge_show_with_their_labels(reseller_client, world):
    """The Trash writes these actions through models.audit; History names them plainly."""
    room = world.a.team
    for action in ("delete", "restore", "purge"):
        models.audit(action, room, f"{action} of {room.name}")
    db.session.commit()
    labels = [e.split(" Room")[0] for e in entries(reseller_client.get(history_url("rooms", room), htmx=True))[:3]]
    assert labels == ["Purged", "Restored", "Deleted"]


def test_history_buttons_on_the_edit_screens(reseller_client, world):
    a = world.a
    for url, target in ((f"/companies/{a.company.id}/edit", history_url("companies", a.company)),
                        (f"/contacts/{a.contacts[0].id}/edit", history_url("contacts", a.contacts[0])),
                        (f"/rooms/{a.team.id}/edit", history_url("rooms", a.team))):
        text = reseller_client.get(url).text
        assert re.search(rf'<a class="button" href="{target}" hx-get="{target}" hx-target="#panel">History</a>', text), url


def test_history_pages_older_and_newer(app, reseller_client, world, monkeypatch):
    monkeypatch.setitem(app.config, "HISTORY_PAGE_SIZE", 2)
    room = world.a.team
    for n in range(3):
        edit_room(reseller_client, room, max_participants=str(30 + n))
    url = history_url("rooms", room)
    first = reseller_client.get(url, htmx=True)
    older = re.search(r'href="([^"]+)"[^>]*rel="next">Older', first.text).group(1).replace("&amp;", "&")
    assert "Newer" not in first.text
    second = reseller_client.get(older, htmx=True)
    newer = re.search(r'href="([^"]+)"[^>]*rel="prev">Newer', second.text).group(1).replace("&amp;", "&")
    assert entries(reseller_client.get(newer, htmx=True)) == entries(first)
    seen = entries(first) + entries(second)
    assert len(seen) == 4 and len(set(seen)) == 4


@pytest.mark.parametrize("kind", ["companies", "contacts", "rooms"])
def test_history_of_another_resellers_object_is_404(other_client, world, kind):
    obj = {"companies": world.a.company, "contacts": world.a.contacts[0], "rooms": world.a.team}[kind]
    for htmx in (False, True):
        resp = other_client.get(history_url(kind, obj), htmx=htmx)
        assert resp.status_code == 404 and "A Corp" not in resp.text


def test_an_owner_sees_their_companys_history_only(client, auth, world):
    a = world.a
    me = factories.owner(a.company)
    neighbour = factories.company(a.reseller, "Neighbour Ltd")
    auth.login(me.email)
    text = page_text(client.get(history_url("companies", a.company)))
    assert "Created company A Corp" in text and "Neighbour" not in text
    assert client.get(history_url("companies", neighbour)).status_code == 404
    assert client.get("/activity").status_code == 404


def test_a_host_sees_no_history(client, auth, world):
    auth.login(world.a.contacts[0].email)
    assert client.get(history_url("rooms", world.a.team)).status_code == 404
    assert client.get("/activity").status_code == 404


# ---------------------------------------------------------------- Activity


def test_activity_in_the_menu_for_resellers_and_administrators(client, auth, world):
    auth.login(world.a.staff.email)
    assert '<a href="/activity" aria-current="page">Activity</a>' in client.get("/activity").text
    auth.logout()
    auth.login(factories.admin().email)
    assert '<a href="/activity"' in client.get("/companies").text
    auth.logout()
    auth.login(factories.owner(world.a.company).email)
    assert '<a href="/activity"' not in client.get("/companies").text


def test_activity_full_page_and_fragment(reseller_client, world):
    full = reseller_client.get("/activity")
    assert full.status_code == 200 and "<html" in full.text and 'id="activity-screen"' in full.text
    for label in ("Who", "What", "Object type", "From", "To"):
        assert f">{label}</label>" in full.text
    assert ">Reseller</label>" not in full.text
    frag = reseller_client.get("/activity", htmx=True)
    assert "<html" not in frag.text and 'id="activity-screen"' in frag.text


def test_activity_shows_only_the_resellers_own_events(reseller_client, world):
    text = page_text(reseller_client.get("/activity"))
    assert "Created company A Corp" in text and "B Corp" not in text and world.b.staff.email not in text


def test_activity_administrator_sees_every_reseller_and_filters_by_one(client, auth, world):
    auth.login(factories.admin().email)
    text = page_text(client.get("/activity"))
    assert "Created company A Corp" in text and "Created company B Corp" in text and ">Reseller</label>" in client.get("/activity").text
    text = page_text(client.get(f"/activity?reseller={world.b.reseller.id}"))
    assert "Created company B Corp" in text and "A Corp" not in text


def test_activity_filters_by_who_what_type_and_dates(app, reseller_client, world, frozen_now):
    a = world.a
    helper = factories.staff(a.reseller, email="helper@a.example")
    c = app.test_client()
    AuthActions(c).login(helper.email)
    frozen_now(datetime(2026, 10, 1, 12, 0))
    edit_room(c, a.team, name="Early Name")
    frozen_now(datetime(2026, 10, 15, 12, 0))
    edit_room(reseller_client, a.team, name="Later Name")
    frozen_now(None)
    by_helper = entries(reseller_client.get(f"/activity?who={helper.first_name.lower()}"))
    assert by_helper and all(helper.name in e for e in by_helper)
    assert any("Early Name" in e for e in by_helper) and not any("Later Name" in e for e in by_helper)
    edits = entries(reseller_client.get("/activity?action=update&type=Room"))
    assert [e.split(" Room")[0] for e in edits] == ["Edited", "Edited"]
    creates = entries(reseller_client.get("/activity?action=create&type=Company"))
    assert len(creates) == 2 and all(e.startswith("Created Company") for e in creates)  # A Corp and A's own company
    dated = entries(reseller_client.get("/activity?from=2026-10-10&to=2026-10-20"))
    assert len(dated) == 1 and "Later Name" in dated[0]
    assert len(entries(reseller_client.get("/activity?from=2026-10-01&to=2026-10-01"))) == 1
    by_id = entries(reseller_client.get(f"/activity?actor={helper.id}"))
    assert by_id == by_helper


def test_activity_filters_stay_in_the_url_of_its_pages(app, reseller_client, world, monkeypatch):
    monkeypatch.setitem(app.config, "ACTIVITY_PAGE_SIZE", 2)
    for n in range(4):
        edit_room(reseller_client, world.a.team, max_participants=str(30 + n))
    resp = reseller_client.get("/activity?action=update&type=Room")
    older = re.search(r'href="([^"]+)"[^>]*rel="next">Older', resp.text).group(1).replace("&amp;", "&")
    assert "action=update" in older and "type=Room" in older and "before=" in older
    assert 'hx-push-url="true"' in resp.text


def test_activity_pages_through_everything_without_counting(app, reseller_client, world, monkeypatch):
    monkeypatch.setitem(app.config, "ACTIVITY_PAGE_SIZE", 3)
    db.session.rollback()
    expected = db.session.execute(select(AuditEvent.id).where(AuditEvent.reseller_id == world.a.reseller.id)
                                  .order_by(AuditEvent.id.desc())).scalars().all()
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement.lower())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        seen, url, pages = [], "/activity", 0
        while url:
            resp = reseller_client.get(url, htmx=True)
            seen += [int(i) for i in re.findall(r'id="event-(\d+)"', resp.text)]
            found = re.search(r'href="([^"]+)"[^>]*rel="next">Older', resp.text)
            url = found.group(1).replace("&amp;", "&") if found else None
            pages += 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen == expected and pages == -(-len(expected) // 3)
    assert not [s for s in statements if "audit_events" in s and "count(" in s]


@pytest.mark.parametrize("query, field, message", [
    ("action=explode", "action", "Choose a kind of change from the list."),
    ("type=Spaceship", "type", "Choose an object type from the list"),
    ("from=yesterday", "from", "From must be a date like 2026-12-31."),
    ("to=2026-13-45", "to", "To must be a date like 2026-12-31."),
    ("from=2026-12-02&to=2026-12-01", "to", "To cannot be before From."),
    ("who=" + "x" * 101, "who", "Who: type at most 100 characters"),
    ("actor=abc", "who", "That person is not known."),
    ("actor=99999999999999999999", "who", "That person is not known."),
    ("from=%00%ff", "from", "From must be a date"),
    ("who=a%00b", "who", "not control characters"),
])
def test_activity_bad_filter_is_422_next_to_the_field(reseller_client, world, query, field, message):
    for htmx in (False, True):
        resp = reseller_client.get(f"/activity?{query}", htmx=htmx)
        assert resp.status_code == 422, resp.text[:300]
        assert f'id="activity-{field}-error"' in resp.text and message in resp.text
        assert 'aria-invalid="true"' in resp.text and 'class="event"' not in resp.text


def test_activity_bad_reseller_filter_is_422_for_an_administrator(client, auth, world):
    auth.login(factories.admin().email)
    resp = client.get("/activity?reseller=abc")
    assert resp.status_code == 422 and 'id="activity-reseller-error"' in resp.text


def test_activity_bad_page_cursor_shows_the_newest_page(reseller_client, world):
    assert reseller_client.get("/activity?before=abc").status_code == 200
    assert reseller_client.get("/activity?after=-5").status_code == 200
    resp = reseller_client.get("/activity?before=99999999999999999999")
    assert resp.status_code == 200 and "Created company A Corp" in page_text(resp)


def test_reseller_filter_is_ignored_for_a_reseller(reseller_client, world):
    text = page_text(reseller_client.get(f"/activity?reseller={world.b.reseller.id}"))
    assert "B Corp" not in text and "A Corp" in text


def test_deleted_actor_still_named_in_activity(app, reseller_client, world):
    helper = factories.staff(world.a.reseller, email="gone@a.example")
    c = app.test_client()
    AuthActions(c).login(helper.email)
    edit_room(c, world.a.team, name="Renamed By Gone")
    name = helper.name
    assert reseller_client.post(f"/contacts/{helper.id}/delete", htmx=True).status_code == 200
    first = entries(reseller_client.get("/activity?action=update&type=Room"))[0]
    assert name in first and "Renamed By Gone" in first


FILTER_NAMES = ("who", "actor", "action", "type", "from", "to", "reseller", "before", "after")


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FILTER_NAMES),
                       st.one_of(st.text(max_size=300), st.integers().map(str), st.just("9" * 40)), max_size=5))
def test_activity_any_filter_value_is_a_page_or_422(client, auth, world, params):
    if not getattr(client, "_signed_in", False):
        auth.login(factories.admin().email)
        client._signed_in = True
    resp = client.get("/activity", query_string=params)
    assert resp.status_code in (200, 422), (params, resp.status_code)
