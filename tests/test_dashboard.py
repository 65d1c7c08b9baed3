"""My rooms: the rooms linked to the signed-in contact, their meeting links, and Edit exactly where allowed."""
import re

import pytest

from extensions import db
from models import AuditEvent

from . import factories
from .conftest import AuthActions, page_text


def login_as(app, person):
    c = app.test_client()
    AuthActions(c).login(person.email)
    return c


def edit_links(text: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/my-rooms/(\d+)/edit"', text)}


def test_index_full_page_and_fragment(app, world):
    host = login_as(app, world.a.contacts[0])
    full = host.get("/my-rooms")
    assert full.status_code == 200 and "<html" in full.text and 'id="my-rooms"' in full.text
    frag = host.get("/my-rooms", htmx=True)
    assert "<html" not in frag.text and 'id="my-rooms"' in frag.text
    assert "HX-Request" in frag.headers["Vary"]


def test_index_lists_exactly_the_linked_rooms_with_meeting_links(app, world):
    host = world.a.contacts[0]
    factories.link(world.a.personal, host)
    text = page_text(login_as(app, host).get("/my-rooms"))
    assert "A Team" in text and "A Personal" in text and "B Team" not in text
    assert f"http://portal.test/meet/{world.a.team.slug}" in text
    assert f"http://portal.test/meet/{world.a.personal.slug}" in text
    assert "room owner" in text


def test_index_edit_exactly_where_may_edit(app, world):
    person = world.a.contacts[1]
    factories.link(world.a.team, person)  # a second Host of the team room: not its owner
    factories.link(world.a.personal, person)  # the Host of a personal room
    text = login_as(app, person).get("/my-rooms").text
    assert edit_links(text) == {world.a.personal.id}
    # the team room's owner sees Edit on it
    text = login_as(app, world.a.contacts[0]).get("/my-rooms").text
    assert edit_links(text) == {world.a.team.id}


def test_index_no_rooms(app, world):
    text = login_as(app, world.a.contacts[1]).get("/my-rooms").text
    assert "No rooms are linked to you yet" in text


def test_index_nav_link_for_contacts(app, world):
    text = login_as(app, world.a.contacts[1]).get("/my-rooms").text
    assert re.search(r'<a href="/my-rooms"[^>]*>My rooms</a>', text)
    assert ">Companies<" not in text  # not a manager
    text = login_as(app, factories.admin()).get("/companies").text
    assert ">My rooms<" not in text  # an administrator is a contact of no company


def test_index_requires_login(client):
    resp = client.get("/my-rooms")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_login_host_lands_on_my_rooms(client, world):
    resp = client.post("/login", data={"email": world.a.contacts[0].email, "password": factories.PASSWORD},
                       follow_redirects=True)
    assert resp.request.path == "/my-rooms" and "A Team" in resp.text


def test_login_manager_lands_on_home(client, world):
    resp = client.post("/login", data={"email": world.a.staff.email, "password": factories.PASSWORD},
                       follow_redirects=True)
    assert resp.request.path == "/" and "<h1>Home</h1>" in resp.text


def test_edit_full_page_and_fragment(app, world):
    host = login_as(app, world.a.contacts[0])
    full = host.get(f"/my-rooms/{world.a.team.id}/edit")
    assert full.status_code == 200 and "<html" in full.text and 'id="room-settings-form"' in full.text
    frag = host.get(f"/my-rooms/{world.a.team.id}/edit", htmx=True)
    assert "<html" not in frag.text and 'id="room-settings-form"' in frag.text
    for label in ("Meeting link", "Max participants", "PIN", "Lobby", "Recording"):
        assert f">{label}</label>" in frag.text


def test_update_host_of_personal_room(app, world):
    room = world.a.personal
    person = world.a.contacts[1]
    factories.link(room, person)
    room.suspended = True
    db.session.commit()
    status, name = room.status, room.name
    resp = login_as(app, person).post(f"/my-rooms/{room.id}", htmx=True, data={
        "slug": "pat-s-room", "max_participants": "8", "pin": "1234", "lobby": "1", "version": room.version,
        # fields a Host may not change are ignored
        "name": "Renamed", "status": "demo", "suspended": "",
    })
    assert resp.status_code == 200 and "rooms-changed" in resp.headers["HX-Trigger"]
    db.session.refresh(room)
    assert (room.slug, room.max_participants, room.pin, room.lobby, room.recording) == ("pat-s-room", 8, "1234", True, False)
    assert (room.name, room.status, room.suspended) == (name, status, True)
    event = db.session.query(AuditEvent).filter_by(action="update", object_id=room.id).one()
    assert event.actor_id == person.id


def test_update_plain_form_redirects(app, world):
    resp = login_as(app, world.a.contacts[0]).post(
        f"/my-rooms/{world.a.team.id}", data={"slug": world.a.team.slug, "max_participants": "30",
                                              "version": world.a.team.version})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/my-rooms")


@pytest.mark.parametrize("data, field, message", [
    ({"slug": "Not A Slug!"}, "slug", "Meeting link may use"),
    ({"slug": "", "max_participants": "1"}, "max_participants", "between 2 and 1000"),
    ({"pin": "12ab"}, "pin", "PIN must be 4 to 10 digits"),
])
def test_update_bad_input_is_422(app, world, data, field, message):
    data = {**data, "version": world.a.team.version}
    resp = login_as(app, world.a.contacts[0]).post(f"/my-rooms/{world.a.team.id}", data=data, htmx=True)
    assert resp.status_code == 422
    assert message in resp.text and f'id="settings-{field}-error"' in resp.text and "<html" not in resp.text


def test_update_taken_slug_is_422(app, world):
    resp = login_as(app, world.a.contacts[0]).post(
        f"/my-rooms/{world.a.team.id}", data={"slug": world.b.team.slug, "version": world.a.team.version}, htmx=True)
    assert resp.status_code == 422 and f"cannot be used. Try {world.b.team.slug}-2." in resp.text


def test_update_stale_version_is_409(app, world):
    host = login_as(app, world.a.contacts[0])
    room = world.a.team
    stale = room.version
    assert host.post(f"/my-rooms/{room.id}", data={"max_participants": "9", "version": stale}, htmx=True).status_code == 200
    resp = host.post(f"/my-rooms/{room.id}", data={"max_participants": "10", "version": stale}, htmx=True)
    assert resp.status_code == 409 and "changed by someone else" in resp.text


def test_edit_team_room_as_plain_host_is_403(app, world):
    person = world.a.contacts[1]
    factories.link(world.a.team, person)  # not the owner
    c = login_as(app, person)
    resp = c.get(f"/my-rooms/{world.a.team.id}/edit")
    assert resp.status_code == 403 and "owner of a team room" in resp.text
    slug = world.a.team.slug
    resp = c.post(f"/my-rooms/{world.a.team.id}", data={"slug": "taken-over"}, htmx=True)
    assert resp.status_code == 403 and "<html" not in resp.text
    db.session.refresh(world.a.team)
    assert world.a.team.slug == slug


def test_edit_room_not_linked_is_403(app, world):
    c = login_as(app, world.a.contacts[0])
    assert c.get(f"/my-rooms/{world.a.personal.id}/edit").status_code == 403
    assert c.post(f"/my-rooms/{world.a.personal.id}", data={"slug": "mine-now"}).status_code == 403


def test_edit_room_of_another_company_is_404(app, world):
    sister = factories.company(world.a.reseller, "Sister Co")
    sister_room = factories.room(sister, "Sister Room")
    c = login_as(app, world.a.contacts[0])
    for room in (sister_room, world.b.team):
        resp = c.get(f"/my-rooms/{room.id}/edit")
        assert resp.status_code == 404 and room.name not in resp.text
        assert c.post(f"/my-rooms/{room.id}", data={"slug": "x-y"}).status_code == 404
    assert c.get("/my-rooms/999999/edit").status_code == 404


def test_edit_after_ownership_moves(app, world):
    """Edit follows the room owner: after Make owner, the new owner may edit and the old may not."""
    import models

    team, first, second = world.a.team, world.a.contacts[0], world.a.contacts[1]
    factories.link(team, second)
    models.make_owner(team, second)
    db.session.commit()
    assert login_as(app, first).get(f"/my-rooms/{team.id}/edit").status_code == 403
    assert login_as(app, second).get(f"/my-rooms/{team.id}/edit").status_code == 200
