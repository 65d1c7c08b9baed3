"""Rooms: the list, add, Edit room with its Hosts, delete."""
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

import models
from extensions import db
from models import Hosting, Room

from . import factories
from .conftest import AuthActions, page_text


def room_data(**kw):
    return {"name": "Board Room", "product_type": "team room", "status": "trial", **kw}


def hosts_of(room):
    """(contact_id, is_owner) of a room's Hosts, read from the database, oldest link first."""
    rows = db.session.execute(
        select(Hosting.contact_id, Hosting.is_owner).where(Hosting.room_id == room.id).order_by(Hosting.linked_at, Hosting.id)
    )
    return [tuple(r) for r in rows]


def owner_id(room):
    return next((cid for cid, is_owner in hosts_of(room) if is_owner), None)


def room_count():
    return db.session.execute(select(func.count()).select_from(Room)).scalar()


def triggers(resp):
    return json.loads(resp.headers["HX-Trigger"])


def host_row(text, contact):
    """The <tr> of one Host on the Edit room screen."""
    match = re.search(rf'<tr id="host-{contact.id}">(.*?)</tr>', text, re.S)
    assert match, f"no Host row for {contact.name}"
    return match.group(1)


def link_options(text):
    select_html = re.search(r'<select id="room-link-contact".*?</select>', text, re.S).group(0)
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select_html)}


# ---------------------------------------------------------------- list


def test_index_search_by_name_and_meeting_link(reseller_client, world):
    factories.room(world.a.company, "Zeta Lounge")
    factories.room(world.a.company, "alpha hall", slug="blue-door")
    text = reseller_client.get("/rooms?q=ZETA", htmx=True).text
    assert "Zeta Lounge" in text and "alpha hall" not in text and "A Team" not in text
    text = reseller_client.get("/rooms?q=blue-door", htmx=True).text
    assert "alpha hall" in text and "Zeta Lounge" not in text
    text = reseller_client.get("/rooms?q=nothing-like-this", htmx=True).text
    assert "No rooms match “nothing-like-this”" in text
    # the search box keeps its term on a full page load (shared link, refresh)
    assert 'value="ZETA"' in reseller_client.get("/rooms?q=ZETA").text


def test_index_filter_by_type_and_status(reseller_client, world):
    factories.room(world.a.company, "Demo Den", status="demo")
    text = reseller_client.get("/rooms?type=personal+room", htmx=True).text
    assert "A Personal" in text and "A Team" not in text
    text = reseller_client.get("/rooms?status=paid+subscriber", htmx=True).text
    assert "A Personal" in text and "A Team" not in text and "Demo Den" not in text
    text = reseller_client.get("/rooms?status=demo&type=team+room", htmx=True).text
    assert "Demo Den" in text and "A Team" not in text
    # unknown filter, sort and page values are ignored, not errors
    assert reseller_client.get("/rooms?status=free&type=x&sort=pin&page=zz").status_code == 200


def test_index_filter_by_company_shows_it_and_can_be_cleared(reseller_client, world):
    other = factories.company(world.a.reseller, "Other Co")
    factories.room(other, "Other Room")
    resp = reseller_client.get(f"/rooms?company={other.id}")
    assert resp.status_code == 200
    assert "Other Room" in resp.text and "A Team" not in resp.text
    assert "Company: Other Co" in resp.text
    clear = re.search(r'<a href="([^"]*)">Show rooms of all companies</a>', resp.text)
    assert clear and "company=" not in clear.group(1)
    everything = reseller_client.get(clear.group(1).replace("&amp;", "&")).text
    assert "Other Room" in everything and "A Team" in everything
    # the company filter survives sorting and paging links
    frag = reseller_client.get(f"/rooms?company={other.id}&sort=-name", htmx=True).text
    assert f"company={other.id}" in frag and "A Team" not in frag


def test_index_company_links_from_companies_screen(reseller_client, world):
    text = reseller_client.get("/companies").text
    assert f'href="/rooms?company={world.a.company.id}"' in text


def test_index_filter_by_foreign_company_is_404(reseller_client, world):
    resp = reseller_client.get(f"/rooms?company={world.b.company.id}")
    assert resp.status_code == 404 and "B Corp" not in resp.text


@pytest.mark.parametrize("sort, first, last", [
    ("name", "Aardvark", "Zulu"),
    ("-name", "Zulu", "Aardvark"),
    ("end", "Zulu", "Aardvark"),       # soonest end first, paid (no end date) last
    ("-end", "Aardvark", "Zulu"),
    ("company", "Aardvark", "Zulu"),
    ("-company", "Zulu", "Aardvark"),
    ("status", "Zulu", "Aardvark"),    # demo < paid subscriber
    ("type", "Aardvark", "Zulu"),      # personal room < team room
])
def test_index_sort(reseller_client, world, sort, first, last):
    early = factories.company(world.a.reseller, "AAA Early Co")
    late = factories.company(world.a.reseller, "ZZZ Late Co")
    factories.room(early, "Aardvark", product_type="personal room", status="paid subscriber")
    factories.room(late, "Zulu", status="demo")
    text = page_text(reseller_client.get(f"/rooms?sort={sort}", htmx=True))
    assert text.index(first) < text.index(last)


def test_index_sort_created(reseller_client, world):
    old = factories.room(world.a.company, "Older Room")
    old.created_at = models.utcnow() - timedelta(days=3)
    db.session.commit()
    factories.room(world.a.company, "Newer Room")
    text = page_text(reseller_client.get("/rooms?sort=-created&q=er+room", htmx=True))
    assert text.index("Newer Room") < text.index("Older Room")


def test_index_end_date_days_left_and_expiring_soon(reseller_client, world):
    soon = factories.room(world.a.company, "Soon Room", status="demo", end_date=(models.today() + timedelta(days=3)).isoformat())
    later = factories.room(world.a.company, "Later Room", status="trial")
    gone = factories.room(world.a.company, "Gone Room", status="trial")
    gone.end_date = models.today() - timedelta(days=2)
    db.session.commit()
    text = page_text(reseller_client.get("/rooms", htmx=True))

    def row(room):
        return re.search(rf'<tr id="room-{room.id}"([^>]*)>(.*?)(?=<tr|</tbody>)', text).groups()

    attrs, cells = row(soon)
    assert 'class="expiring"' in attrs and "Expiring soon" in cells and "3 days left" in cells
    assert soon.end_date.isoformat() in cells
    attrs, cells = row(later)
    assert "expiring" not in attrs and "Expiring soon" not in cells
    assert f"{world.a.reseller.trial_days} days left" in cells
    attrs, cells = row(gone)
    assert "ended" in cells and "Expiring soon" not in cells
    attrs, cells = row(world.a.personal)  # paid: no end date
    assert "none" in cells and "left" not in cells


def test_index_counts_hosts_without_a_query_per_row(reseller_client, world, app):
    factories.link(world.a.team, world.a.contacts[1])
    text = page_text(reseller_client.get("/rooms?q=a+team", htmx=True))
    assert re.search(r'data-count="hosts">\s*2\s*<', text)
    text = page_text(reseller_client.get("/rooms?q=a+personal", htmx=True))
    assert re.search(r'data-count="hosts">\s*0\s*<', text)

    statements = []

    def count(_conn, _cursor, statement, *_args):
        # the signed-in user's lookup may or may not run (Flask-Login caches it per app context)
        if not statement.startswith("SELECT contacts."):
            statements.append(statement)

    def queries_for_page():
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert reseller_client.get("/rooms", htmx=True).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    few = queries_for_page()
    for i in range(12):
        other = factories.company(world.a.reseller, f"Many {i}")
        room = factories.room(other, f"Many room {i}")
        factories.link(room, factories.contact(other))
    after = queries_for_page()
    assert after == few, "\n".join(s[:150] for s in statements)


def test_index_shows_actions(reseller_client, world):
    text = reseller_client.get("/rooms", htmx=True).text
    row = re.search(rf'<tr id="room-{world.a.team.id}".*?(?=<tr|</tbody>)', text, re.S).group(0)  # no end tags
    assert f'<th scope="row"><a href="/rooms/{world.a.team.id}/edit"' in row  # the name opens Edit room
    # Delete sits in the row's Actions menu, which portal.js fills from the tbody's one template
    assert '<details class="menu"><summary>Actions</summary></details>' in row
    assert '<button data-get="delete">Delete</button></div></template>' in text
    assert 'data-get-delete="/rooms/2147483647/delete"' in text


# ---------------------------------------------------------------- add


def test_new_without_company_offers_only_own_companies(reseller_client, world):
    frag = reseller_client.get("/rooms/new", htmx=True)
    assert frag.status_code == 200 and 'id="room-company_id"' in frag.text
    assert "A Corp" in frag.text and "B Corp" not in frag.text


def test_new_for_foreign_company_is_404(reseller_client, world):
    assert reseller_client.get(f"/rooms/new?company_id={world.b.company.id}").status_code == 404
    assert reseller_client.get("/rooms/new?company_id=abc").status_code == 404


def test_create_room_with_defaults(reseller_client, world):
    resp = reseller_client.post("/rooms", data=room_data(company_id=world.a.company.id), htmx=True)
    assert resp.status_code == 200
    events = triggers(resp)
    assert events["rooms-changed"] and events["companies-changed"] and "Board Room" in events["toast"]
    room = db.session.execute(select(Room).where(Room.name == "Board Room")).scalar_one()
    assert (room.company_id, room.reseller_id) == (world.a.company.id, world.a.reseller.id)
    assert room.slug == "board-room"
    assert (room.max_participants, room.pin, room.lobby, room.recording, room.suspended) == (25, None, False, False, False)
    assert room.end_date == room.created_at.date() + timedelta(days=world.a.reseller.trial_days)
    assert hosts_of(room) == []


@pytest.mark.parametrize("status, days_attr", [("trial", "trial_days"), ("demo", "demo_days"), ("paid subscriber", None)])
def test_create_room_end_date_from_reseller(reseller_client, world, status, days_attr):
    world.a.reseller.trial_days, world.a.reseller.demo_days = 30, 5
    db.session.commit()
    resp = reseller_client.post("/rooms", data=room_data(status=status, company_id=world.a.company.id), htmx=True)
    assert resp.status_code == 200
    room = db.session.execute(select(Room).where(Room.name == "Board Room")).scalar_one()
    if days_attr is None:
        assert room.end_date is None
    else:
        assert room.end_date == models.today() + timedelta(days=getattr(world.a.reseller, days_attr))


def test_create_room_unique_slug_gets_suffix(reseller_client, world):
    for _ in range(2):
        resp = reseller_client.post("/rooms", data=room_data(name="A Team", company_id=world.a.company.id), htmx=True)
        assert resp.status_code == 200
    slugs = db.session.execute(select(Room.slug).where(Room.name == "A Team").order_by(Room.id)).scalars().all()
    assert slugs == ["a-team", "a-team-2", "a-team-3"]
    # meeting links are unique across resellers too
    reseller_client.post("/rooms", data=room_data(name="B Team", company_id=world.a.company.id), htmx=True)
    assert db.session.execute(select(Room.slug).where(Room.name == "B Team", Room.reseller_id == world.a.reseller.id)).scalar() == "b-team-2"


def test_create_room_with_settings(reseller_client, world):
    end = (models.today() + timedelta(days=60)).isoformat()
    data = room_data(company_id=world.a.company.id, product_type="personal room", status="demo", slug="my-room",
                     max_participants="50", pin="123456", lobby="1", recording="1", end_date=end)
    assert reseller_client.post("/rooms", data=data, htmx=True).status_code == 200
    room = db.session.execute(select(Room).where(Room.slug == "my-room")).scalar_one()
    assert (room.product_type, room.status, room.max_participants, room.pin, room.lobby, room.recording) == (
        "personal room", "demo", 50, "123456", True, True)
    assert room.end_date.isoformat() == end


def test_create_room_keeps_what_was_typed_after_an_error(reseller_client, world):
    resp = reseller_client.post("/rooms", data=room_data(company_id=world.a.company.id, name="Kept Name", pin="x"), htmx=True)
    assert resp.status_code == 422 and 'value="Kept Name"' in resp.text


def test_create_room_without_company_is_422(reseller_client, world):
    resp = reseller_client.post("/rooms", data=room_data(), htmx=True)
    assert resp.status_code == 422 and 'id="room-company_id-error"' in resp.text
    assert "Choose the company" in resp.text


# ---------------------------------------------------------------- Edit room


def test_edit_shows_settings_at_a_glance(reseller_client, world):
    room = factories.room(world.a.company, "Glance Room", status="demo", slug="glance", pin="4321", lobby="1",
                          max_participants="40", end_date=(models.today() + timedelta(days=5)).isoformat())
    text = page_text(reseller_client.get(f"/rooms/{room.id}/edit"))
    settings = re.search(r'<dl class="settings" id="room-settings".*?</dl>', text).group(0)
    assert "/meet/glance" in settings
    assert "<dt>Max participants</dt><dd>40</dd>" in settings
    assert "<dt>PIN</dt><dd>set</dd>" in settings and "4321" not in settings
    assert "<dt>Lobby</dt><dd>on</dd>" in settings and "<dt>Recording</dt><dd>off</dd>" in settings
    assert "<dt>Status</dt><dd>demo</dd>" in settings
    assert "5 days left" in settings and "Expiring soon" in settings
    text = page_text(reseller_client.get(f"/rooms/{world.a.personal.id}/edit"))
    settings = re.search(r'<dl class="settings" id="room-settings".*?</dl>', text).group(0)
    assert "<dt>PIN</dt><dd>not set</dd>" in settings and "none (paid subscriber)" in settings


def test_edit_marks_owner_and_offers_host_actions(reseller_client, world):
    team = world.a.team
    c0, c1 = world.a.contacts
    factories.link(team, c1)
    text = reseller_client.get(f"/rooms/{team.id}/edit").text
    owner_row, other_row = host_row(text, c0), host_row(text, c1)
    assert "Owner" in owner_row and "Make owner" not in owner_row
    assert "Unlink" in owner_row and "Give personal room" in owner_row
    assert "Owner" not in other_row.replace("Make owner", "")
    assert "Make owner" in other_row and "Unlink" in other_row and "Give personal room" in other_row
    # a personal room's single Host: Unlink only
    factories.link(world.a.personal, c0)
    text = reseller_client.get(f"/rooms/{world.a.personal.id}/edit").text
    row = host_row(text, c0)
    assert "Unlink" in row and "Make owner" not in row and "Give personal room" not in row


def test_edit_link_contact_offers_only_unlinked_contacts_of_the_company(reseller_client, world):
    other = factories.company(world.a.reseller, "Other Co")
    stranger = factories.contact(other)
    text = reseller_client.get(f"/rooms/{world.a.team.id}/edit").text
    assert '<label for="room-link-contact">Link contact</label>' in text
    assert ">Link contact</button>" in text
    offered = link_options(text)
    assert offered == {world.a.contacts[1].id}
    assert world.a.contacts[0].id not in offered and stranger.id not in offered
    assert world.a.staff.id not in offered and world.b.contacts[0].id not in offered
    # once everyone is linked, the screen says so instead of offering an empty list
    factories.link(world.a.team, world.a.contacts[1])
    text = reseller_client.get(f"/rooms/{world.a.team.id}/edit").text
    assert "room-link-contact" not in text and "already a Host of this room" in text


def test_update_room(reseller_client, world):
    room = world.a.team
    data = room_data(name="Renamed Team", slug="renamed", max_participants="12", pin="9999", lobby="1",
                     end_date=room.end_date.isoformat(), version=room.version)
    resp = reseller_client.post(f"/rooms/{room.id}", data=data, htmx=True)
    assert resp.status_code == 200 and "Saved" in resp.text and "<html" not in resp.text
    assert 'id="room-detail"' in resp.text and "/meet/renamed" in resp.text
    # the Hosts block follows out of band
    assert re.search(r'<section id="room-hosts"\s+hx-swap-oob="true"', resp.text)
    assert triggers(resp)["rooms-changed"]
    db.session.refresh(room)
    assert (room.name, room.slug, room.max_participants, room.pin, room.lobby, room.recording) == (
        "Renamed Team", "renamed", 12, "9999", True, False)


def test_update_room_extends_end_date(reseller_client, world):
    room = world.a.team
    later = room.end_date + timedelta(days=30)
    resp = reseller_client.post(f"/rooms/{room.id}", data=room_data(name=room.name, end_date=later.isoformat(),
                                version=room.version), htmx=True)
    assert resp.status_code == 200
    db.session.refresh(room)
    assert room.end_date == later
    assert f"{(later - models.today()).days} days left" in resp.text


def test_update_room_empty_slug_and_end_date_keep_current(reseller_client, world):
    room = world.a.team
    slug, end = room.slug, room.end_date
    resp = reseller_client.post(f"/rooms/{room.id}", data=room_data(name=room.name, slug="", end_date="",
                                                                    version=room.version), htmx=True)
    assert resp.status_code == 200
    db.session.refresh(room)
    assert (room.slug, room.end_date) == (slug, end)


def test_update_room_status_paid_and_back(reseller_client, world):
    room = world.a.team
    reseller_client.post(f"/rooms/{room.id}", data=room_data(name=room.name, status="paid subscriber",
                         end_date=room.end_date.isoformat(), version=room.version), htmx=True)
    db.session.refresh(room)
    assert room.status == "paid subscriber" and room.end_date is None
    reseller_client.post(f"/rooms/{room.id}", data=room_data(name=room.name, status="demo", version=room.version),
                         htmx=True)
    db.session.refresh(room)
    assert room.end_date == models.today() + timedelta(days=world.a.reseller.demo_days)


def test_update_team_room_with_two_hosts_to_personal_is_refused(reseller_client, world):
    room = world.a.team
    factories.link(room, world.a.contacts[1])
    resp = reseller_client.post(f"/rooms/{room.id}", data=room_data(name=room.name, product_type="personal room",
                                 version=room.version), htmx=True)
    assert resp.status_code == 422
    assert "A personal room has at most one Host, and this room has 2" in resp.text
    assert 'id="room-product_type-error"' in resp.text
    db.session.refresh(room)
    assert room.product_type == "team room" and len(hosts_of(room)) == 2


def test_update_team_room_with_one_host_to_personal(reseller_client, world):
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}", data=room_data(name=room.name, product_type="personal room",
                                 version=room.version), htmx=True)
    assert resp.status_code == 200
    db.session.refresh(room)
    assert room.product_type == "personal room"
    hosting = db.session.execute(select(Hosting).where(Hosting.room_id == room.id)).scalar_one()
    assert (hosting.contact_id, hosting.room_type, hosting.is_owner) == (world.a.contacts[0].id, "personal room", True)
    # the Hosts block that came along shows the personal-room actions
    hosts_html = re.search(r'<section id="room-hosts".*?</section>', resp.text, re.S).group(0)
    assert "Make owner" not in hosts_html and "Give personal room" not in hosts_html


# ---------------------------------------------------------------- Hosts


def test_link_two_hosts_first_is_owner(reseller_client, world):
    c0, c1 = world.a.contacts
    room = factories.room(world.a.company, "Fresh Team")
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": c1.id}, htmx=True)
    assert resp.status_code == 200 and "<html" not in resp.text and 'id="room-hosts"' in resp.text
    assert triggers(resp)["rooms-changed"] and f"Linked {c1.name}" in triggers(resp)["toast"]
    assert "Owner" in host_row(resp.text, c1)
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": c0.id}, htmx=True)
    assert resp.status_code == 200
    assert hosts_of(room) == [(c1.id, True), (c0.id, False)]
    assert "Make owner" in host_row(resp.text, c0)
    # both contacts of the company are Hosts now: nobody is left to offer
    assert 'id="room-link-contact"' not in resp.text and "already a Host of this room" in resp.text


def test_link_plain_form_redirects(reseller_client, world):
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": world.a.contacts[1].id})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/rooms/{room.id}/edit")


def test_make_owner_moves_ownership(reseller_client, world):
    c0, c1 = world.a.contacts
    room = world.a.team
    factories.link(room, c1)
    resp = reseller_client.post(f"/rooms/{room.id}/hosts/{c1.id}/owner", htmx=True)
    assert resp.status_code == 200 and 'id="room-hosts"' in resp.text and "<html" not in resp.text
    assert triggers(resp)["rooms-changed"]
    assert owner_id(room) == c1.id and hosts_of(room) == [(c0.id, False), (c1.id, True)]
    assert "Owner" in host_row(resp.text, c1) and "Make owner" in host_row(resp.text, c0)


def test_unlink_owner_hands_ownership_to_longest_linked(reseller_client, world):
    c0, c1 = world.a.contacts
    c2 = factories.contact(world.a.company, first="Third")
    room = world.a.team  # c0 linked first
    factories.link(room, c1)
    factories.link(room, c2)
    models.make_owner(room, c2)
    db.session.commit()
    resp = reseller_client.post(f"/rooms/{room.id}/hosts/{c2.id}/delete", htmx=True)
    assert resp.status_code == 200 and 'id="room-hosts"' in resp.text
    assert f"{c0.name} is now the owner" in triggers(resp)["toast"]
    assert hosts_of(room) == [(c0.id, True), (c1.id, False)]
    # unlinking the owner again: the next longest-linked takes over
    reseller_client.post(f"/rooms/{room.id}/hosts/{c0.id}/delete", htmx=True)
    assert hosts_of(room) == [(c1.id, True)]
    # the unlinked contacts are offered for linking again
    text = reseller_client.get(f"/rooms/{room.id}/edit").text
    assert link_options(text) == {c0.id, c2.id}


def test_unlink_not_a_host_is_422(reseller_client, world):
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}/hosts/{world.a.contacts[1].id}/delete", htmx=True)
    assert resp.status_code == 422 and "is not a Host of A Team" in resp.text
    assert 'id="room-hosts"' in resp.text


def test_link_second_host_to_personal_room_is_refused(reseller_client, world):
    c0, c1 = world.a.contacts
    room = world.a.personal
    assert reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": c0.id}, htmx=True).status_code == 200
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": c1.id}, htmx=True)
    assert resp.status_code == 422 and 'id="room-hosts"' in resp.text and "<html" not in resp.text
    error = re.search(r'<p class="error" id="room-link-contact-error"[^>]*>(.*?)</p>', resp.text, re.S)
    assert error and "personal room" in error.group(1) and "at most one Host" in error.group(1)
    assert c0.name in error.group(1)
    assert hosts_of(room) == [(c0.id, True)]


def test_link_contact_of_another_company_is_refused(reseller_client, world):
    other = factories.company(world.a.reseller, "Other Co")
    stranger = factories.contact(other)
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": stranger.id}, htmx=True)
    assert resp.status_code == 422 and 'id="room-link-contact-error"' in resp.text
    assert "A room can only be linked to contacts of its own company" in resp.text
    assert "Other Co" in resp.text
    assert stranger.id not in [cid for cid, _ in hosts_of(room)]


def test_link_already_linked_contact_is_422(reseller_client, world):
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": world.a.contacts[0].id}, htmx=True)
    assert resp.status_code == 422 and "already a Host" in resp.text
    assert len(hosts_of(room)) == 1


@pytest.mark.parametrize("value", ["", "abc"])
def test_link_without_a_contact_is_422(reseller_client, world, value):
    resp = reseller_client.post(f"/rooms/{world.a.team.id}/hosts", data={"contact_id": value}, htmx=True)
    assert resp.status_code == 422 and "Choose a contact to link" in resp.text


def test_link_contact_of_another_reseller_is_404(reseller_client, world):
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": world.b.contacts[1].id}, htmx=True)
    assert resp.status_code == 404
    assert len(hosts_of(room)) == 1


def test_link_without_csrf_is_refused(reseller_client, world):
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": world.a.contacts[1].id}, csrf=False)
    assert resp.status_code == 400 and len(hosts_of(room)) == 1


def test_make_owner_on_personal_room_is_refused(reseller_client, world):
    room = world.a.personal
    factories.link(room, world.a.contacts[1])
    resp = reseller_client.post(f"/rooms/{room.id}/hosts/{world.a.contacts[1].id}/owner", htmx=True)
    assert resp.status_code == 422 and "Only a team room has a designated owner" in resp.text
    resp = reseller_client.post(f"/rooms/{room.id}/hosts/{world.a.contacts[1].id}/personal-room", htmx=True)
    assert resp.status_code == 422 and "applies to a Host of a team room" in resp.text


def test_give_personal_room(reseller_client, world):
    c0, c1 = world.a.contacts
    team = world.a.team
    factories.link(team, c1)
    before = room_count()
    resp = reseller_client.post(f"/rooms/{team.id}/hosts/{c1.id}/personal-room", htmx=True)
    assert resp.status_code == 200 and 'id="room-hosts"' in resp.text and "<html" not in resp.text
    events = triggers(resp)
    assert events["rooms-changed"] and events["companies-changed"]
    assert room_count() == before + 1
    personal = db.session.execute(select(Room).where(Room.name == f"{c1.name}'s room")).scalar_one()
    assert (personal.product_type, personal.status, personal.company_id) == ("personal room", team.status, team.company_id)
    assert personal.end_date == team.end_date
    assert hosts_of(personal) == [(c1.id, True)]
    assert hosts_of(team) == [(c0.id, True)]
    # the screen says what happened and links the new room
    assert f'href="/rooms/{personal.id}/edit"' in resp.text and f'id="host-{c1.id}"' not in resp.text
    # the contact is offered for the team room again
    assert c1.id in link_options(resp.text)


def test_give_personal_room_to_the_owner_of_a_paid_room(reseller_client, world):
    team = factories.room(world.a.company, "Paid Team", status="paid subscriber")
    c0, c1 = world.a.contacts
    factories.link(team, c0)
    factories.link(team, c1)
    resp = reseller_client.post(f"/rooms/{team.id}/hosts/{c0.id}/personal-room", htmx=True)
    assert resp.status_code == 200
    personal = db.session.execute(select(Room).where(Room.name == f"{c0.name}'s room")).scalar_one()
    assert personal.status == "paid subscriber" and personal.end_date is None
    assert hosts_of(team) == [(c1.id, True)]  # ownership passed on


def test_give_personal_room_is_one_transaction(reseller_client, world, monkeypatch):
    c1 = world.a.contacts[1]
    team = world.a.team
    factories.link(team, c1)
    before = room_count()

    def refuse(room, contact):
        raise models.RuleError("Linking is switched off for this test.", "contact_id")

    monkeypatch.setattr(models.hosting, "link", refuse)
    resp = reseller_client.post(f"/rooms/{team.id}/hosts/{c1.id}/personal-room", htmx=True)
    assert resp.status_code == 422 and "switched off" in resp.text
    # neither the new room nor the unlink survived
    assert room_count() == before
    assert [cid for cid, _ in hosts_of(team)] == [world.a.contacts[0].id, c1.id]


def test_give_personal_room_with_a_long_name(reseller_client, world):
    long = factories.contact(world.a.company, first="F" * 120, last="L" * 120)
    factories.link(world.a.team, long)
    resp = reseller_client.post(f"/rooms/{world.a.team.id}/hosts/{long.id}/personal-room", htmx=True)
    assert resp.status_code == 200
    personal = db.session.execute(select(Room).where(Room.product_type == "personal room", Room.name.like("FFF%"))).scalar_one()
    assert len(personal.name) <= models.NAME_MAX and personal.name.endswith("'s room")


@pytest.mark.parametrize("action", ["delete", "owner", "personal-room"])
def test_host_actions_on_a_contact_of_another_reseller_are_404(reseller_client, world, action):
    resp = reseller_client.post(f"/rooms/{world.a.team.id}/hosts/{world.b.contacts[0].id}/{action}", htmx=True)
    assert resp.status_code == 404
    assert hosts_of(world.b.team) == [(world.b.contacts[0].id, True)]


# ---------------------------------------------------------------- delete


def test_delete_room(reseller_client, world):
    room = world.a.team
    rid = room.id
    resp = reseller_client.post(f"/rooms/{rid}/delete", htmx=True)
    assert resp.status_code == 200 and resp.text == ""
    events = triggers(resp)
    assert events["rooms-changed"] and events["companies-changed"] and "1 host link" in events["toast"]
    assert "HX-Redirect" not in resp.headers
    db.session.expire_all()
    assert db.session.execute(select(Room).where(Room.id == rid)).scalar() is None
    assert db.session.execute(select(func.count()).select_from(Hosting).where(Hosting.room_id == rid)).scalar() == 0
    assert db.session.execute(select(Room).where(Room.id == world.b.team.id)).scalar() is not None
    assert "A Team" not in reseller_client.get("/rooms", htmx=True).text


def test_delete_room_from_its_edit_page_goes_to_the_list(reseller_client, world):
    rid = world.a.team.id
    resp = reseller_client.post(f"/rooms/{rid}/delete", htmx=True,
                                headers={"HX-Current-URL": f"http://localhost/rooms/{rid}/edit"})
    assert resp.status_code == 200 and resp.headers["HX-Redirect"] == "/rooms"


# ---------------------------------------------------------------- scope and permission

ROUTES = [
    ("get", "/rooms/{room}/edit", None),
    ("post", "/rooms/{room}", {"name": "Hijack", "product_type": "team room", "status": "trial"}),
    ("post", "/rooms/{room}/hosts", {"contact_id": "{contact}"}),
    ("post", "/rooms/{room}/hosts/{host}/delete", None),
    ("post", "/rooms/{room}/hosts/{contact}/owner", None),
    ("post", "/rooms/{room}/hosts/{host}/personal-room", None),
    ("get", "/rooms/{room}/delete", None),
    ("post", "/rooms/{room}/delete", None),
    ("get", "/rooms/new?company_id={company}", None),
    ("post", "/rooms", {"name": "Hijack", "product_type": "team room", "status": "trial", "company_id": "{company}"}),
    ("get", "/rooms?company={company}", None),
]


def _snapshot(tenant):
    rooms = db.session.execute(
        select(Room.id, Room.name, Room.version).where(Room.reseller_id == tenant.reseller.id).order_by(Room.id)
    ).all()
    hostings = db.session.execute(
        select(Hosting.room_id, Hosting.contact_id, Hosting.is_owner).where(Hosting.reseller_id == tenant.reseller.id)
        .order_by(Hosting.id)
    ).all()
    return rooms, hostings


@pytest.mark.parametrize("method, path, data", ROUTES)
@pytest.mark.parametrize("htmx", [False, True])
def test_other_reseller_gets_404_on_every_route(other_client, world, method, path, data, htmx):
    a = world.a
    factories.link(a.team, a.contacts[1])
    ids = {"room": a.team.id, "company": a.company.id, "host": a.contacts[0].id, "contact": a.contacts[1].id}
    before = _snapshot(a)
    url = path.format(**ids)
    if method == "post":
        form = {k: v.format(**ids) for k, v in (data or {}).items()}
        resp = other_client.post(url, data=form, htmx=htmx)
    else:
        resp = other_client.get(url, htmx=htmx)
    assert resp.status_code == 404
    assert "A Team" not in resp.text and "A Corp" not in resp.text and a.contacts[0].name not in resp.text
    db.session.expire_all()
    assert _snapshot(a) == before


def test_rooms_screens_are_for_managers_only(app, world):
    """A plain Host (no stored role) gets 404 on the manager screens, even for the room they own."""
    host = world.a.contacts[0]
    c = app.test_client()
    AuthActions(c).login(host.email)
    assert c.get("/rooms").status_code == 404
    assert c.get(f"/rooms/{world.a.team.id}/edit").status_code == 404
    assert c.post(f"/rooms/{world.a.team.id}/hosts", data={"contact_id": world.a.contacts[1].id}).status_code == 404
    assert len(hosts_of(world.a.team)) == 1


def test_owner_manages_only_their_own_company(app, world):
    other = factories.company(world.a.reseller, "Sister Co")
    sister_room = factories.room(other, "Sister Room")
    owner = world.a.contacts[1]
    owner.roles = {"owner"}
    db.session.commit()
    c = app.test_client()
    AuthActions(c).login(owner.email)
    text = c.get("/rooms").text
    assert "A Team" in text and "Sister Room" not in text
    assert c.get(f"/rooms/{world.a.team.id}/edit").status_code == 200
    assert c.get(f"/rooms/{sister_room.id}/edit").status_code == 404
    assert c.get(f"/rooms/new?company_id={other.id}").status_code == 404
    new = c.get("/rooms/new", htmx=True).text
    assert "A Corp" in new and "Sister Co" not in new
    resp = c.post("/rooms", data=room_data(company_id=world.a.company.id), htmx=True)
    assert resp.status_code == 200


def test_refusals_without_htmx_show_the_whole_page(reseller_client, world):
    """Without JavaScript a refused write answers the full Edit room page, with the reason in place."""
    room = world.a.personal
    factories.link(room, world.a.contacts[0])
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": world.a.contacts[1].id})
    assert resp.status_code == 422 and "<html" in resp.text
    assert 'id="room-link-contact-error"' in resp.text and "at most one Host" in resp.text
    assert 'id="room-form"' in resp.text and 'value="A Personal"' in resp.text
    resp = reseller_client.post(f"/rooms/{room.id}", data=room_data(name="", product_type="personal room",
                                                                   version=room.version))
    assert resp.status_code == 422 and "<html" in resp.text and 'id="room-name-error"' in resp.text
    assert 'id="room-hosts"' in resp.text


HUGE = "99999999999999999999"  # beyond any integer column: once a 500 (driver overflow)


def test_index_oversized_company_filter_is_ignored(reseller_client, world):
    resp = reseller_client.get(f"/rooms?company={HUGE}")
    assert resp.status_code == 200 and "A Team" in resp.text


def test_create_oversized_company_id_is_404(reseller_client, world):
    resp = reseller_client.post("/rooms", data={"company_id": HUGE, "name": "X", "product_type": "team room",
                                                "status": "trial"}, htmx=True)
    assert resp.status_code == 404 and db.session.execute(select(func.count(Room.id))).scalar() == 4


def test_link_oversized_contact_id_is_explained(reseller_client, world):
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": HUGE}, htmx=True)
    assert resp.status_code == 422 and 'id="room-hosts"' in resp.text and "Choose a contact" in resp.text


def test_a_personal_room_with_its_host_offers_no_picker_and_refuses_a_second(reseller_client, world):
    room, ada, grace = world.a.personal, world.a.contacts[0], world.a.contacts[1]
    assert 'id="room-link-contact"' in reseller_client.get(f"/rooms/{room.id}/edit").text  # free: the picker
    factories.link(room, ada)
    text = reseller_client.get(f"/rooms/{room.id}/edit").text
    assert "This personal room has its Host" in text and 'id="room-link-contact"' not in text
    # a second Host posted anyway (a stale page) is refused with the reason, and nothing is written
    resp = reseller_client.post(f"/rooms/{room.id}/hosts", data={"contact_id": grace.id}, htmx=True)
    assert resp.status_code == 422
    assert "already has its Host" in resp.text and "This personal room has its Host" in resp.text
    assert [h.contact_id for h in db.session.get(type(room), room.id).hostings] == [ada.id]


def test_hosts_the_others_only_when_there_are_others(reseller_client, world):
    company = factories.company(world.a.reseller, "Solo Ltd")
    sam, pia = factories.contact(company, first="Sam"), factories.contact(company, first="Pia")
    only = factories.room(company, "Solo Team", "team room", "trial")
    factories.link(only, sam)
    text = page_text(reseller_client.get(f"/contacts/{sam.id}/edit"))
    assert "hosts every room of Solo Ltd" in text and "the others" not in text
    mine = factories.room(company, "Pia's Room", "personal room", "paid subscriber")
    factories.link(mine, pia)
    text = page_text(reseller_client.get(f"/contacts/{sam.id}/edit"))
    assert "the others are personal rooms that have their Host" in text and "hosts every room" not in text


def test_changing_the_meeting_link_warns_that_the_old_one_ends(reseller_client, world):
    room = world.a.team
    old = room.slug
    page = reseller_client.get(f"/rooms/{room.id}/edit").text
    assert "Changing it ends the old link" in page  # said next to the field before saving
    resp = reseller_client.post(f"/rooms/{room.id}", data=room_data(name=room.name, slug="a-new-link", end_date="",
                                                                    version=room.version), htmx=True)
    assert resp.status_code == 200
    toast = json.loads(resp.headers["HX-Trigger"])["toast"]
    assert f"The old link /meet/{old} no longer works: share /meet/a-new-link." in toast
    db.session.refresh(room)
    same = reseller_client.post(f"/rooms/{room.id}", data=room_data(name=room.name, slug="a-new-link", end_date="",
                                                                    version=room.version), htmx=True)
    assert "no longer works" not in json.loads(same.headers["HX-Trigger"])["toast"]


def test_room_edit_puts_delete_after_the_form_and_the_hosts_beside_it(reseller_client, world):
    page = reseller_client.get(f"/rooms/{world.a.team.id}/edit").text
    assert 'class="room-page"' in page
    assert page.index('id="room-form"') < page.index(">Delete</button>") < page.index('id="room-hosts"')
