"""Trial and demo lifecycle over HTTP: Extend, Convert, Back to demo (in place, with bad input), the offer to make
a prospect a customer, the rooms list's end-date filters, Home per role, and bulk actions."""
import json
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, Company, Room

from . import factories
from .conftest import AuthActions, page_text

NOW = datetime(2026, 12, 10, 9, 0)
TODAY = NOW.date()


@pytest.fixture
def now(frozen_now):
    frozen_now(NOW)
    return NOW


def _room(company, name, end=None, status="trial", **kw):
    room = factories.room(company, name, status=status, **kw)
    if end is not None:
        room.end_date = end
        db.session.commit()
    return room


def _events(room, action):
    return db.session.execute(select(AuditEvent).where(AuditEvent.object_type == "Room", AuditEvent.object_id == room.id,
                                                       AuditEvent.action == action)).scalars().all()


def _fresh(room) -> Room:
    db.session.expire_all()
    return db.session.execute(select(Room).where(Room.id == room.id)).scalar_one()


# ---------------------------------------------------------------- one room, in place


def test_extend_by_days_answers_in_place(now, reseller_client, world):
    room = _room(world.a.company, "Soon", TODAY + timedelta(days=3))
    resp = reseller_client.post(f"/rooms/{room.id}/extend", data={"days": "5", "reason": "Asked for a week"}, htmx=True)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "<html" not in body
    assert re.search(rf'<span id="room-{room.id}-end">2026-12-18 <span class="days-left">\(8 days left\)', body)
    assert f'id="room-{room.id}-status" hx-swap-oob="true"' in body and f'id="room-{room.id}-actions"' in body
    assert json.loads(resp.headers["HX-Trigger"])["toast"] == "Extended Soon to 2026-12-18"
    assert _fresh(room).end_date == date(2026, 12, 18)
    [event] = _events(room, "extend")
    assert json.loads(event.changes) == {"end_date": ["2026-12-13", "2026-12-18"]}
    assert "reason: Asked for a week" in event.summary


def test_extend_to_a_date_and_an_ended_room_from_today(now, reseller_client, world):
    room = _room(world.a.company, "Later", TODAY + timedelta(days=3))
    resp = reseller_client.post(f"/rooms/{room.id}/extend", data={"end_date": "2027-01-31"}, htmx=True)
    assert resp.status_code == 200 and "2027-01-31" in resp.text
    assert _fresh(room).end_date == date(2027, 1, 31)
    gone = _room(world.a.company, "Gone", TODAY - timedelta(days=4))
    assert reseller_client.post(f"/rooms/{gone.id}/extend", data={"days": "7"}, htmx=True).status_code == 200
    assert _fresh(gone).end_date == TODAY + timedelta(days=7)  # from today, not from the past end date


@pytest.mark.parametrize("data, field, words", [
    ({"days": "0"}, "days", "at least 1 day"),
    ({"days": "-3"}, "days", "at least 1 day"),
    ({"days": "abc"}, "days", "whole number"),
    ({"days": ""}, "days", "Give a number of days"),
    ({"days": "9999"}, "days", "at most 365"),
    ({"end_date": "2026-12-01"}, "end_date", "in the past"),
    ({"end_date": "2026-12-12"}, "end_date", "after the current end date"),
    ({"end_date": "31/12/2026"}, "end_date", "a date like"),
])
def test_extend_bad_input_is_422_next_to_the_field(now, reseller_client, world, data, field, words):
    room = _room(world.a.company, "Soon", TODAY + timedelta(days=3))
    resp = reseller_client.post(f"/rooms/{room.id}/extend", data=data, htmx=True)
    assert resp.status_code == 422
    assert resp.headers["HX-Retarget"] == f"#room-{room.id}-actions"
    fid = f"room-{room.id}-{'days' if field == 'days' else 'end-date'}"
    assert re.search(rf'<p class="error" id="{fid}-error"[^>]*>[^<]*{words}', resp.text), resp.text
    assert f'aria-describedby="{fid}-error"' in resp.text
    assert _fresh(room).end_date == TODAY + timedelta(days=3) and not _events(room, "extend")


def test_extend_a_paid_room_is_refused(now, reseller_client, world):
    resp = reseller_client.post(f"/rooms/{world.a.personal.id}/extend", data={"days": "7"}, htmx=True)
    assert resp.status_code == 422 and "paid subscriber" in resp.text and "no end date" in resp.text


def test_convert_first_room_of_a_prospect_offers_customer(now, reseller_client, world):
    prospect = factories.company(world.a.reseller, "Maybe Ltd", status="prospect")
    room = _room(prospect, "Maybe Trial")
    resp = reseller_client.post(f"/rooms/{room.id}/convert", data={"reason": "signed"}, htmx=True)
    assert resp.status_code == 200
    assert "Make Maybe Ltd a customer" in resp.text
    assert f'<span id="room-{room.id}-end"><span class="muted">none</span></span>' in resp.text
    fresh = _fresh(room)
    assert fresh.status == "paid subscriber" and fresh.end_date is None
    [event] = _events(room, "convert")
    assert json.loads(event.changes)["status"] == ["trial", "paid subscriber"]
    offer = reseller_client.post(f"/companies/{prospect.id}/customer", htmx=True)
    assert offer.status_code == 200 and "Maybe Ltd is now a customer" in offer.text
    db.session.expire_all()
    assert db.session.get(Company, prospect.id).status == "customer"
    # the second room converted: no offer (the company is a customer now, and it is not the first)
    second = _room(prospect, "Maybe Two")
    assert "a customer</button>" not in reseller_client.post(f"/rooms/{second.id}/convert", htmx=True).text


def test_convert_when_the_company_has_a_paid_room_offers_nothing(now, reseller_client, world):
    prospect = factories.company(world.a.reseller, "Maybe Ltd", status="prospect")
    _room(prospect, "Already paid", status="paid subscriber")
    room = _room(prospect, "Maybe Trial")
    resp = reseller_client.post(f"/rooms/{room.id}/convert", htmx=True)
    assert resp.status_code == 200 and "a customer</button>" not in resp.text


def test_convert_twice_is_refused(now, reseller_client, world):
    resp = reseller_client.post(f"/rooms/{world.a.personal.id}/convert", htmx=True)
    assert resp.status_code == 422 and "already a paid subscriber" in resp.text


def test_back_to_demo_sets_the_demo_length_from_today(now, reseller_client, world):
    resp = reseller_client.post(f"/rooms/{world.a.personal.id}/demo", data={"reason": "not paying"}, htmx=True)
    assert resp.status_code == 200 and "2026-12-17" in resp.text and "7 days left" in resp.text
    fresh = _fresh(world.a.personal)
    assert fresh.status == "demo" and fresh.end_date == TODAY + timedelta(days=7)
    [event] = _events(world.a.personal, "back_to_demo")
    assert json.loads(event.changes)["status"] == ["paid subscriber", "demo"] and "not paying" in event.summary


def test_plain_post_redirects_and_owner_may_not(now, client, auth, world):
    owner = factories.owner(world.a.company)
    auth.login(owner.email)
    assert client.post(f"/rooms/{world.a.team.id}/extend", data={"days": "3"}).status_code == 404
    auth.logout()
    auth.login(world.a.staff.email)
    resp = client.post(f"/rooms/{world.a.team.id}/extend", data={"days": "3"})
    assert resp.status_code == 303
    assert _fresh(world.a.team).end_date == TODAY + timedelta(days=17)


def test_another_resellers_room_is_404(now, other_client, world):
    for action in ("extend", "convert", "demo"):
        assert other_client.post(f"/rooms/{world.a.team.id}/{action}", data={"days": "3"}, htmx=True).status_code == 404
    assert other_client.post(f"/companies/{world.a.company.id}/customer", htmx=True).status_code == 404
    assert _fresh(world.a.team).end_date == TODAY + timedelta(days=14)


# ---------------------------------------------------------------- the list's filters


@pytest.fixture
def ends(now, world):
    c = world.a.company
    return {
        "today": _room(c, "Ends today", TODAY),
        "in3": _room(c, "Ends in 3", TODAY + timedelta(days=3)),
        "in7": _room(c, "Ends in 7", TODAY + timedelta(days=7)),
        "in8": _room(c, "Ends in 8", TODAY + timedelta(days=8)),
        "ago2": _room(c, "Ended 2 ago", TODAY - timedelta(days=2)),
        "ago9": _room(c, "Ended 9 ago", TODAY - timedelta(days=9)),
    }


def _names(resp) -> list[str]:
    return re.findall(r'<th scope="row"><a [^>]*>([^<]+)</a>', resp.get_data(as_text=True))


def test_filter_ends_within_7_days_sorted_by_end(reseller_client, ends):
    resp = reseller_client.get("/rooms?ends=soon&sort=end")
    assert _names(resp) == ["Ends today", "Ends in 3", "Ends in 7"]
    assert _names(reseller_client.get("/rooms?ends=soon&sort=-end")) == ["Ends in 7", "Ends in 3", "Ends today"]
    # the filter is in every link the list builds (sort headers, pager)
    assert 'ends=soon' in re.search(r'<th aria-sort="ascending"><a href="([^"]+)"', resp.text).group(1)


def test_filter_ended(reseller_client, ends):
    assert _names(reseller_client.get("/rooms?ends=ended&sort=end")) == ["Ended 9 ago", "Ended 2 ago"]


def test_filter_ends_between(reseller_client, ends):
    resp = reseller_client.get("/rooms?from=2026-12-08&to=2026-12-17&sort=end", htmx=True,
                               headers={"HX-Target": "room-rows"})
    assert _names(resp) == ["Ended 2 ago", "Ends today", "Ends in 3", "Ends in 7"]
    assert _names(reseller_client.get("/rooms?from=2026-12-18&sort=end")) == ["Ends in 8", "A Team"]
    bad = reseller_client.get("/rooms?from=yesterday")
    assert bad.status_code == 200 and "Enter a date like 2026-12-31." in bad.text
    assert len(_names(bad)) == 8  # the bad date is not applied: every room of A shows
    backwards = reseller_client.get("/rooms?from=2026-12-20&to=2026-12-01")
    assert "must be on or after" in backwards.text


def test_unknown_ends_value_is_ignored(reseller_client, ends):
    assert len(_names(reseller_client.get("/rooms?ends=whenever"))) == 8


# ---------------------------------------------------------------- Home


def test_home_for_a_reseller(now, reseller_client, world, ends):
    prospect = factories.company(world.a.reseller, "Quiet Prospect", status="prospect")
    _room(prospect, "Quiet ended", TODAY - timedelta(days=20))
    _room(world.b.company, "B ends soon", TODAY + timedelta(days=1))
    resp = reseller_client.get("/")
    assert resp.status_code == 200 and "<h1>Home</h1>" in resp.text and 'aria-current="page">Home</a>' in resp.text
    text = page_text(resp)
    ending = re.search(r'id="home-ending".*?</section>', text).group(0)
    assert re.findall(r'<td class="name"><a [^>]*>([^<]+)</a>', ending) == ["Ends today", "Ends in 3", "Ends in 7"]
    ended = re.search(r'id="home-ended".*?</section>', text).group(0)
    assert re.findall(r'<td class="name"><a [^>]*>([^<]+)</a>', ended) == ["Ended 2 ago"]
    assert "B ends soon" not in text
    assert "Extend 7 days" in ending and "Convert" in ending
    prospects = re.search(r'id="home-prospects".*?</section>', text).group(0)
    assert "Quiet Prospect" in prospects and "A Corp" not in prospects
    # every number links to the list filtered to it, and that list shows that many
    counts = {m[1]: (m[0].replace("&amp;", "&"), int(m[2]))
              for m in re.findall(r'<a href="([^"]+)" id="home-(\w+)-count">(\d+)</a>', resp.text)}
    assert {k: v[1] for k, v in counts.items()} == {"ending": 3, "ended": 1, "started": 8, "converted": 0,
                                                     "prospects": 1}
    for key in ("ending", "ended", "started"):
        url, n = counts[key]
        listed = reseller_client.get(url)
        assert len(_names(listed)) == n, (key, url)
    prospects_list = reseller_client.get(counts["prospects"][0])
    assert "Quiet Prospect" in prospects_list.text and ">A Corp<" not in prospects_list.text


def test_home_counts_conversions_of_this_month(now, reseller_client, world, ends):
    assert reseller_client.post(f"/rooms/{ends['in3'].id}/convert", htmx=True).status_code == 200
    resp = reseller_client.get("/")
    url, n = re.search(r'<a href="([^"]+)" id="home-converted-count">(\d+)</a>', resp.text).groups()
    assert n == "1"
    assert _names(reseller_client.get(url.replace("&amp;", "&"))) == ["Ends in 3"]


def test_home_for_an_owner_is_their_company_without_actions(now, client, auth, world):
    other = factories.company(world.a.reseller, "Neighbour Ltd")
    _room(other, "Neighbour soon", TODAY + timedelta(days=2))
    _room(world.a.company, "Mine soon", TODAY + timedelta(days=2))
    owner = factories.owner(world.a.company)
    auth.login(owner.email)
    resp = client.get("/")
    text = page_text(resp)
    assert resp.status_code == 200 and "Mine soon" in text and "Neighbour" not in text
    assert "Extend 7 days" not in text
    assert "Stop emailing me trial notices" in text
    off = client.post("/notices", data={"on": "0"}, htmx=True)
    assert off.status_code == 200 and "Email me trial notices" in off.text
    db.session.expire_all()
    assert db.session.get(type(owner), owner.id).trial_notices is False


def test_home_for_a_host_is_my_rooms(now, client, auth, world):
    auth.login(world.a.contacts[0].email)
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/my-rooms")
    assert client.post("/notices", data={"on": "0"}).status_code == 404


# ---------------------------------------------------------------- bulk actions


def _bulk(client, ids, action, **extra):
    data = {"ids": [str(i) for i in ids], "action": action, **extra}
    return client.post("/rooms/bulk", data=data, htmx=True)


def test_bulk_extend_each_row_gets_its_history(reseller_client, ends):
    rooms = [ends["in3"], ends["in7"], ends["ago2"]]
    resp = _bulk(reseller_client, [r.id for r in rooms], "extend", days="10", reason="promo")
    assert resp.status_code == 200 and "Extended 3 rooms." in resp.text
    assert json.loads(resp.headers["HX-Trigger"])["rooms-changed"] is True
    assert [_fresh(r).end_date for r in rooms] == [TODAY + timedelta(days=13), TODAY + timedelta(days=17),
                                                   TODAY + timedelta(days=10)]
    for r in rooms:
        [event] = _events(r, "extend")
        assert "promo" in event.summary


def test_bulk_convert_and_suspend(reseller_client, world, ends):
    ids = [ends["in3"].id, ends["in7"].id, world.a.personal.id]
    resp = _bulk(reseller_client, ids, "convert")
    assert resp.status_code == 200 and "Converted 2 rooms. 1 did not need it." in resp.text
    assert {_fresh(ends[k]).status for k in ("in3", "in7")} == {"paid subscriber"}
    assert len(_events(ends["in3"], "convert")) == 1 and not _events(world.a.personal, "convert")
    resp = _bulk(reseller_client, ids[:2], "suspend")
    assert "Suspended 2 rooms." in resp.text and _fresh(ends["in3"]).suspended


def test_bulk_is_one_transaction(reseller_client, ends):
    """Extend to a date that is before one room's end: refused, naming that room, and no room changes."""
    ids = [ends["in3"].id, ends["in8"].id]
    resp = _bulk(reseller_client, ids, "extend", days="", end_date="2026-12-15")
    assert resp.status_code == 422 and "Ends in 8:" in resp.text and "Nothing was changed" in resp.text
    assert _fresh(ends["in3"]).end_date == TODAY + timedelta(days=3)
    assert not _events(ends["in3"], "extend")


@pytest.mark.parametrize("data, words", [
    ({"action": "extend", "days": "0"}, "at least 1 day"),
    ({"action": "explode"}, "Choose an action"),
    ({"action": "extend", "days": "5", "ids": []}, "Select at least one room"),
])
def test_bulk_bad_input_is_422(reseller_client, ends, data, words):
    body = {"ids": [str(ends["in3"].id)], **data}
    resp = reseller_client.post("/rooms/bulk", data=body, htmx=True)
    assert resp.status_code == 422 and words in resp.text
    assert _fresh(ends["in3"]).end_date == TODAY + timedelta(days=3)


def test_bulk_with_a_foreign_id_is_404_and_changes_nothing(reseller_client, world, ends):
    for bad in (world.b.team.id, 2**31 + 5, "x"):
        resp = _bulk(reseller_client, [ends["in3"].id, bad], "convert")
        assert resp.status_code == 404
    assert _fresh(ends["in3"]).status == "trial"
    assert _fresh(world.b.team).status == "trial"


def test_bulk_delete_asks_first(reseller_client, ends):
    ids = [ends["in3"].id, ends["in7"].id]
    ask = _bulk(reseller_client, ids, "delete")
    assert ask.status_code == 200 and "Deletes 2 rooms with 0 host links." in ask.text and "Delete 2 rooms" in ask.text
    assert _fresh(ends["in3"]) is not None
    done = _bulk(reseller_client, ids, "delete", confirm="1")
    assert done.status_code == 200 and "Deleted 2 rooms." in done.text
    db.session.expire_all()
    assert db.session.execute(select(Room).where(Room.id.in_(ids))).first() is None
    assert len(db.session.execute(select(AuditEvent).where(AuditEvent.action == "delete",
                                                           AuditEvent.object_id.in_(ids))).all()) == 2


def test_bulk_all_matching_uses_the_lists_filters(reseller_client, world, ends):
    resp = reseller_client.post("/rooms/bulk", data={"all": "1", "ends": "soon", "action": "extend", "days": "1"},
                                htmx=True)
    assert resp.status_code == 200 and "Extended 3 rooms." in resp.text
    assert _fresh(ends["in8"]).end_date == TODAY + timedelta(days=8)  # not matching: unchanged
    assert _fresh(ends["today"]).end_date == TODAY + timedelta(days=1)


def test_bulk_is_for_reseller_staff(now, client, auth, world):
    owner = factories.owner(world.a.company)
    auth.login(owner.email)
    assert _bulk(client, [world.a.team.id], "extend", days="3").status_code == 404


def test_rooms_list_has_checkboxes_and_the_bulk_toolbar(reseller_client, ends):
    resp = reseller_client.get("/rooms")
    assert f'<input type="checkbox" name="ids" value="{ends["in3"].id}" form="room-bulk"' in resp.text
    assert 'id="room-bulk"' in resp.text and 'Select all <span id="room-match-count">8</span> matching' in resp.text
    # the bulk form shows a progress bar while it runs (its htmx indicator)
    assert re.search(r'<form id="room-bulk"[^>]*hx-indicator="#room-bulk-progress"', resp.text)
    assert '<progress id="room-bulk-progress" class="htmx-indicator"' in resp.text
    rows = reseller_client.get("/rooms?ends=soon", htmx=True, headers={"HX-Target": "room-rows"})
    assert '<span id="room-match-count" hx-swap-oob="true">3</span>' in rows.text


def test_terms_panel_from_the_rooms_list(now, reseller_client, world):
    """The row's "Extend or convert" opens the room's actions in the panel, with its status and end date."""
    rows = reseller_client.get("/rooms")
    assert f'data-get-terms="/rooms/2147483647/terms"' in rows.text and '<button data-get="terms">' in rows.text
    frag = reseller_client.get(f"/rooms/{world.a.team.id}/terms", htmx=True)
    assert frag.status_code == 200 and "<html" not in frag.text
    for part in (f'id="room-{world.a.team.id}-actions"', f'id="room-{world.a.team.id}-end"',
                 f'id="room-{world.a.team.id}-status"', "Extend 7 days", "Back to demo"):
        assert part in frag.text, part
    full = reseller_client.get(f"/rooms/{world.a.team.id}/terms")
    assert "<html" in full.text and full.text.count(f'id="room-{world.a.team.id}-actions"') == 1
    assert full.text.count(f'id="room-{world.a.team.id}-end"') == 1


def test_owner_sees_no_lifecycle_controls_in_the_list(now, client, auth, world):
    auth.login(factories.owner(world.a.company).email)
    text = client.get("/rooms").text
    assert 'data-get="terms"' not in text and 'id="room-bulk"' not in text
