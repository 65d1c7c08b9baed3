"""Contacts: the list, the contact screen with Link room / Unlink,
Change company, delete with its impact, and the inline contacts of the Edit company screen."""
import json
import re

import pytest
from sqlalchemy import event, inspect, select

import models
from extensions import db
from models import AuditEvent, Contact, Hosting

from . import factories
from .conftest import AuthActions, page_text


def _reload(obj):
    db.session.expire_all()
    return db.session.execute(  # the id from the identity: obj.id would reload a row a request deleted
        select(type(obj)).where(type(obj).id == inspect(obj).identity[0]).execution_options(unscoped=True)
    ).scalar_one_or_none()


def _hosts(room):
    return sorted(db.session.execute(select(Hosting.contact_id).where(Hosting.room_id == room.id)).scalars())


def _owner_id(room):
    return db.session.execute(select(Hosting.contact_id).where(Hosting.room_id == room.id, Hosting.is_owner)).scalar()


def _trigger(resp) -> dict:
    return json.loads(resp.headers["HX-Trigger"])


class QueryCounter:
    def __init__(self):
        self.n = 0

    def __call__(self, *args, **kwargs):
        self.n += 1

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)


def _new_data(**kw):
    return {"first_name": "Nora", "last_name": "New", "email": "nora@new.example", "phone": "+44 20 1234", **kw}


def _edit_data(contact, **kw):
    return {"first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email,
            "phone": contact.phone or "", "state": contact.state, "version": contact.version, **kw}


# ---------------------------------------------------------------- list


def test_index_columns_and_hosted_rooms(reseller_client, world):
    a = world.a
    text = page_text(reseller_client.get("/contacts", htmx=True))
    row = text[text.index(f'id="contact-{a.contacts[0].id}"'):]
    row = row[: re.search(r"<tr|</tbody>", row).start()]  # rows leave out their optional end tags
    shown = f"{a.contacts[0].last_name}, {a.contacts[0].first_name}"  # as the list sorts: last name first
    assert shown in row and a.contacts[0].email in row and "A Corp" in row and "live" in row
    assert "A Team" in row and "Owner" in row
    assert f'href="/rooms/{a.team.id}/edit"' in row  # a link for a room the viewer may edit
    assert f'href="/contacts/{a.contacts[0].id}/edit"' in row  # the name opens the contact
    # the actions sit in the row's Actions menu, filled from the tbody's one template (none hidden here)
    assert '<details class="menu"><summary>Actions</summary></details>' in row
    menu = text[text.index('<template class="menu">'):text.index("</template>")]
    assert 'data-get="delete">Delete<' in menu and 'data-get="move">Change company<' in menu
    # the row buttons' URLs sit once on the tbody, with a placeholder id that portal.js fills in
    assert 'data-get-delete="/contacts/2147483647/delete"' in text
    assert 'data-get-move="/contacts/2147483647/change-company"' in text


def test_index_hosted_room_edit_only_where_allowed(app, world):
    """An owner of the company may edit its rooms; the Edit link follows can(…, 'edit_room', room)."""
    owner = models.create_contact(world.a.company, {"first_name": "Olga", "last_name": "Owner",
                                                     "email": "olga@a.example"}, roles=("owner",))
    owner.password_hash = factories.PASSWORD_HASH
    db.session.commit()
    client = app.test_client()
    AuthActions(client).login("olga@a.example")
    text = client.get("/contacts", htmx=True).text
    assert f'href="/rooms/{world.a.team.id}/edit"' in text
    assert "Change company" not in text  # only reseller staff move contacts
    assert world.a.staff.email not in text  # the owner sees only their own company


def test_index_search_filter_sort(reseller_client, world):
    c = world.a.company
    factories.contact(c, first="Zelda", last="Zimmer", email="zelda@zed.example")
    factories.contact(c, first="alma", last="Aalto", email="alma@first.example", state="live")
    susp = factories.contact(c, first="Sam", last="Sleeper", email="sam@sleep.example")
    susp.state = "suspended"
    db.session.commit()
    text = reseller_client.get("/contacts?q=ZELDA", htmx=True).text
    assert "zelda@zed.example" in text and "alma@first.example" not in text
    text = reseller_client.get("/contacts?q=first.example", htmx=True).text  # email matches too
    assert "alma@first.example" in text and "zelda@zed.example" not in text
    text = reseller_client.get("/contacts?q=zelda zimmer", htmx=True).text  # full name
    assert "zelda@zed.example" in text
    text = reseller_client.get("/contacts?state=suspended", htmx=True).text
    assert "sam@sleep.example" in text and "zelda@zed.example" not in text
    text = page_text(reseller_client.get(f"/contacts?company={c.id}&sort=name", htmx=True))
    assert text.index("alma@first.example") < text.index("zelda@zed.example")
    text = page_text(reseller_client.get(f"/contacts?company={c.id}&sort=-name", htmx=True))
    assert text.index("zelda@zed.example") < text.index("alma@first.example")
    text = page_text(reseller_client.get(f"/contacts?company={c.id}&sort=-email", htmx=True))
    assert text.index("zelda@zed.example") < text.index("sam@sleep.example") < text.index("alma@first.example")
    text = page_text(reseller_client.get("/contacts?sort=company", htmx=True))
    assert text.index("A Corp") < text.index(world.a.staff.email)  # "A Corp" before "Reseller A"
    text = page_text(reseller_client.get(f"/contacts?company={c.id}&sort=-created", htmx=True))
    assert text.index("sam@sleep.example") < text.index("zelda@zed.example")
    # unknown sort, state and page values are ignored, not errors
    assert reseller_client.get("/contacts?sort=password&state=deleted&page=x").status_code == 200


def test_index_company_filter(reseller_client, world):
    c = world.a.company
    full = reseller_client.get(f"/contacts?company={c.id}")
    text = page_text(full)
    assert "Contacts of A Corp" in text and 'id="contact-company-filter"' in text
    assert world.a.contacts[0].email in text and world.a.staff.email not in text
    assert 'href="/contacts"' in text  # the link that clears the filter
    assert f'name="company" value="{c.id}"' in text  # the search keeps the filter
    assert f"/contacts/new?company_id={c.id}" in text  # Add contact for that company


def test_index_uses_aggregate_queries(reseller_client, world):
    """The number of queries does not grow with the rows on the page (no per-row queries)."""
    with QueryCounter() as few:
        reseller_client.get("/contacts", htmx=True)
    rooms = [factories.room(world.a.company, f"Busy {i}") for i in range(5)]
    for i in range(15):
        person = factories.contact(world.a.company, first="Busy")
        for room in rooms[: 1 + i % 5]:
            factories.link(room, person)
    with QueryCounter() as many:
        text = reseller_client.get("/contacts", htmx=True).text
    assert "Busy 4" in text
    assert many.n == few.n


# ---------------------------------------------------------------- add


def test_new_with_company_from_query(reseller_client, world):
    frag = reseller_client.get(f"/contacts/new?company_id={world.a.company.id}", htmx=True)
    assert frag.status_code == 200 and "Add contact to A Corp" in frag.text
    assert f'name="company_id" value="{world.a.company.id}"' in frag.text
    assert reseller_client.get("/contacts/new?company_id=999999").status_code == 404


def test_create_contact(reseller_client, world):
    resp = reseller_client.post("/contacts", data=_new_data(company_id=world.a.company.id), htmx=True)
    assert resp.status_code == 200
    events = _trigger(resp)
    assert events["contacts-changed"] and events["companies-changed"] and "Nora New" in events["toast"]
    c = db.session.execute(select(Contact).where(Contact.email == "nora@new.example")).scalar_one()
    assert (c.name, c.phone, c.state, c.company_id, c.reseller_id) == (
        "Nora New", "+44 20 1234", "live", world.a.company.id, world.a.reseller.id)
    # the company's live count includes the new contact
    text = page_text(reseller_client.get("/companies?q=A+Corp", htmx=True)).replace(" <", "<")
    assert 'data-count="contacts">3<' in text


def test_create_contact_bad_input_plain_form_shows_page(reseller_client, world):
    resp = reseller_client.post("/contacts", data=_new_data(company_id=world.a.company.id, email="bad"))
    assert resp.status_code == 422 and "<html" in resp.text and "This email cannot be used" in resp.text


@pytest.mark.parametrize("company", ["unknown", "foreign"])
def test_create_contact_unknown_or_foreign_company_is_404(reseller_client, world, company):
    cid = 999999 if company == "unknown" else world.b.company.id
    before = db.session.query(Contact).count()
    resp = reseller_client.post("/contacts", data=_new_data(company_id=cid), htmx=True)
    assert resp.status_code == 404 and "B Corp" not in resp.text
    assert db.session.query(Contact).count() == before


# ---------------------------------------------------------------- the contact screen


def test_edit_full_and_fragment(reseller_client, world):
    a = world.a
    url = f"/contacts/{a.contacts[0].id}/edit"
    full = reseller_client.get(url)
    assert full.status_code == 200 and "<html" in full.text
    for part in ('id="contact-screen"', 'id="contact-form"', 'id="contact-rooms"'):
        assert part in full.text
    frag = reseller_client.get(url, htmx=True)
    assert "<html" not in frag.text and 'id="contact-screen"' in frag.text
    text = page_text(frag)
    assert a.contacts[0].email in text and "A Team" in text and "Owner" in text
    assert f'href="/rooms/{a.team.id}/edit"' in text and ">Unlink</button>" in text
    # Link room offers this company's rooms the contact does not host, with free personal rooms
    assert ">Link room</button>" in text and f'<option value="{a.personal.id}">' in text
    assert f'<option value="{a.team.id}">' not in text
    assert ">Change company</button>" in text and ">Save</button>" in text
    # opened in the side panel (from the list), the screen has a Close link; as a page it needs none
    in_panel = reseller_client.get(url, htmx=True, headers={"HX-Target": "panel"}).text
    assert "data-close-panel>Close</a>" in in_panel
    assert "data-close-panel>Close</a>" not in text and "data-close-panel>Close</a>" not in full.text


def test_edit_offers_no_taken_personal_room(reseller_client, world):
    a = world.a
    factories.link(a.personal, a.contacts[0])
    text = reseller_client.get(f"/contacts/{a.contacts[1].id}/edit", htmx=True).text
    assert f'<option value="{a.personal.id}">' not in text and f'<option value="{a.team.id}">' in text


def test_show_full_and_row(reseller_client, world):
    c = world.a.contacts[0]
    full = reseller_client.get(f"/contacts/{c.id}")
    assert full.status_code == 200 and "<html" in full.text and 'id="contact-screen"' in full.text
    frag = reseller_client.get(f"/contacts/{c.id}", htmx=True)
    assert "<html" not in frag.text and 'id="contact-screen"' in frag.text
    row = reseller_client.get(f"/contacts/{c.id}?inline=1", htmx=True)
    assert "<html" not in row.text and row.text.strip().startswith(f'<tr id="contact-row-{c.id}"')


def test_rooms_full_and_fragment(reseller_client, world):
    c = world.a.contacts[0]
    assert "<html" in reseller_client.get(f"/contacts/{c.id}/rooms").text
    frag = reseller_client.get(f"/contacts/{c.id}/rooms", htmx=True)
    assert "<html" not in frag.text and 'id="contact-rooms"' in frag.text and "A Team" in frag.text


def test_update_contact(reseller_client, world):
    c = world.a.contacts[1]
    data = _edit_data(c, first_name="Renamed", email="Renamed@Example.TEST", phone="0123 456")
    resp = reseller_client.post(f"/contacts/{c.id}", data=data, htmx=True)
    assert resp.status_code == 200 and "Saved." in resp.text and 'id="contact-form"' in resp.text
    assert _trigger(resp)["contacts-changed"]
    c = _reload(c)
    assert (c.first_name, c.email, c.phone) == ("Renamed", "renamed@example.test", "0123 456")


def test_update_contact_suspend_ends_login(app, reseller_client, world):
    c = world.a.contacts[1]
    other = app.test_client()
    AuthActions(other).login(c.email)
    resp = reseller_client.post(f"/contacts/{c.id}", data=_edit_data(c, state="suspended"), htmx=True)
    assert resp.status_code == 200
    assert _reload(c).state == "suspended"
    assert other.get("/contacts").status_code == 302  # their session ended: back to the login page
    text = reseller_client.get("/contacts?state=suspended", htmx=True).text
    assert c.email in text


def test_update_contact_cannot_suspend_self(reseller_client, world):
    me = world.a.staff
    resp = reseller_client.post(f"/contacts/{me.id}", data=_edit_data(me, state="suspended"), htmx=True)
    assert resp.status_code == 422 and "cannot suspend your own account" in resp.text
    assert 'id="contact-state-error"' in resp.text
    assert _reload(me).state == "live"


def test_update_contact_duplicate_email_any_case(reseller_client, world):
    c = world.a.contacts[1]
    resp = reseller_client.post(f"/contacts/{c.id}", data=_edit_data(c, email=world.b.staff.email.upper()), htmx=True)
    assert resp.status_code == 422 and "This email cannot be used; ask the person for another." in resp.text
    assert _reload(c).email != world.b.staff.email


# ---------------------------------------------------------------- Link room / Unlink


def test_link_room(reseller_client, world):
    a = world.a
    resp = reseller_client.post(f"/contacts/{a.contacts[1].id}/rooms", data={"room_id": a.team.id}, htmx=True)
    assert resp.status_code == 200 and "<html" not in resp.text and 'id="contact-rooms"' in resp.text
    assert "A Team" in resp.text and _trigger(resp)["rooms-changed"]
    assert _hosts(a.team) == sorted([a.contacts[0].id, a.contacts[1].id])
    assert _owner_id(a.team) == a.contacts[0].id  # the first Host linked stays the owner


def test_link_room_plain_form_redirects(reseller_client, world):
    a = world.a
    resp = reseller_client.post(f"/contacts/{a.contacts[1].id}/rooms", data={"room_id": a.personal.id})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/contacts/{a.contacts[1].id}/edit")
    assert _hosts(a.personal) == [a.contacts[1].id]


def test_link_room_of_another_company_is_refused(reseller_client, world):
    a = world.a
    other_company = factories.company(a.reseller, "Other Co")
    other_room = factories.room(other_company, "Other Room")
    resp = reseller_client.post(f"/contacts/{a.contacts[1].id}/rooms", data={"room_id": other_room.id}, htmx=True)
    assert resp.status_code == 422 and 'id="contact-rooms"' in resp.text
    assert "only be linked to contacts of its own company" in resp.text
    assert 'id="contact-link-room-error"' in resp.text
    assert _hosts(other_room) == []


def test_link_second_host_on_personal_room_is_refused(reseller_client, world):
    a = world.a
    factories.link(a.personal, a.contacts[0])
    resp = reseller_client.post(f"/contacts/{a.contacts[1].id}/rooms", data={"room_id": a.personal.id}, htmx=True)
    assert resp.status_code == 422
    text = page_text(resp)
    assert "is a personal room and already has its Host" in text and "at most one Host" in text
    assert 'id="contact-link-room-error"' in text
    assert _hosts(a.personal) == [a.contacts[0].id]


def test_link_room_refusal_plain_form_shows_page(reseller_client, world):
    a = world.a
    factories.link(a.personal, a.contacts[0])
    resp = reseller_client.post(f"/contacts/{a.contacts[1].id}/rooms", data={"room_id": a.personal.id})
    assert resp.status_code == 422 and "<html" in resp.text and "at most one Host" in resp.text
    assert _hosts(a.personal) == [a.contacts[0].id]


@pytest.mark.parametrize("room_id", ["", "abc"])
def test_link_room_without_a_room_is_422(reseller_client, world, room_id):
    resp = reseller_client.post(f"/contacts/{world.a.contacts[1].id}/rooms", data={"room_id": room_id}, htmx=True)
    assert resp.status_code == 422 and "Choose a room to link" in resp.text


def test_link_room_unknown_room_is_404(reseller_client, world):
    assert reseller_client.post(f"/contacts/{world.a.contacts[1].id}/rooms", data={"room_id": 999999},
                                htmx=True).status_code == 404


def test_link_room_twice_is_refused(reseller_client, world):
    a = world.a
    resp = reseller_client.post(f"/contacts/{a.contacts[0].id}/rooms", data={"room_id": a.team.id}, htmx=True)
    assert resp.status_code == 422 and "already a Host" in resp.text
    assert _hosts(a.team) == [a.contacts[0].id]


def test_unlink_room_hands_ownership_on(reseller_client, world):
    a = world.a
    factories.link(a.team, a.contacts[1])
    resp = reseller_client.post(f"/contacts/{a.contacts[0].id}/rooms/{a.team.id}/unlink", htmx=True)
    assert resp.status_code == 200 and 'id="contact-rooms"' in resp.text and "<html" not in resp.text
    toast = _trigger(resp)["toast"]
    assert "Unlinked" in toast and f"{a.contacts[1].name} is now the owner" in toast
    assert _hosts(a.team) == [a.contacts[1].id] and _owner_id(a.team) == a.contacts[1].id


def test_unlink_room_not_hosted_is_refused(reseller_client, world):
    a = world.a
    resp = reseller_client.post(f"/contacts/{a.contacts[1].id}/rooms/{a.team.id}/unlink", htmx=True)
    assert resp.status_code == 422 and "is not a Host of" in resp.text and 'id="contact-rooms"' in resp.text
    assert _hosts(a.team) == [a.contacts[0].id]


# ---------------------------------------------------------------- Change company


def test_change_company_step_full_and_fragment(reseller_client, world):
    a = world.a
    target = factories.company(a.reseller, "Target Co")
    url = f"/contacts/{a.contacts[0].id}/change-company"
    full = reseller_client.get(url)
    assert full.status_code == 200 and "<html" in full.text and 'id="change-company"' in full.text
    frag = reseller_client.get(url, htmx=True)
    assert "<html" not in frag.text and 'id="change-company"' in frag.text
    assert f'<option value="{target.id}"' in frag.text and "B Corp" not in frag.text
    assert 'id="change-company-impact"' not in frag.text  # nothing chosen yet: no confirm
    frag = page_text(reseller_client.get(f"{url}?company_id={target.id}", htmx=True))
    assert f"Moving {a.contacts[0].name} to Target Co removes their links to rooms: A Team." in frag
    assert ">Change company</button>" in frag


def test_change_company_moves_and_removes_links(reseller_client, world):
    a = world.a
    target = factories.company(a.reseller, "Target Co")
    extra = factories.room(a.company, "A Second")
    factories.link(extra, a.contacts[0])
    factories.link(a.team, a.contacts[1])
    text = page_text(reseller_client.get(f"/contacts/{a.contacts[0].id}/change-company?company_id={target.id}",
                                         htmx=True))
    assert "removes their links to rooms: A Second, A Team." in text
    resp = reseller_client.post(f"/contacts/{a.contacts[0].id}/change-company", data={"company_id": target.id},
                                htmx=True)
    assert resp.status_code == 200
    events = _trigger(resp)
    assert events["contacts-changed"] and events["companies-changed"] and events["contact-moved"]
    assert "A Second" in events["toast"] and "A Team" in events["toast"]
    moved = _reload(a.contacts[0])
    assert moved.company_id == target.id
    assert _hosts(a.team) == [a.contacts[1].id] and _owner_id(a.team) == a.contacts[1].id
    assert _hosts(extra) == []
    screen = reseller_client.get(f"/contacts/{moved.id}/edit").text
    assert "Target Co" in screen and "hosts no rooms yet" in screen


def test_change_company_without_rooms_says_so(reseller_client, world):
    a = world.a
    target = factories.company(a.reseller, "Target Co")
    text = page_text(reseller_client.get(f"/contacts/{a.contacts[1].id}/change-company?company_id={target.id}",
                                         htmx=True))
    assert "removes no room links" in text


def test_change_company_plain_form_redirects(reseller_client, world):
    a = world.a
    target = factories.company(a.reseller, "Target Co")
    resp = reseller_client.post(f"/contacts/{a.contacts[1].id}/change-company", data={"company_id": target.id})
    assert resp.status_code == 303 and _reload(a.contacts[1]).company_id == target.id


def test_change_company_of_reseller_staff_is_refused(reseller_client, world):
    a = world.a
    second = factories.staff(a.reseller)
    text = reseller_client.get(f"/contacts/{second.id}/change-company?company_id={a.company.id}", htmx=True).text
    assert "Reseller staff belong to the reseller" in text and 'id="change-company-impact"' not in text
    resp = reseller_client.post(f"/contacts/{second.id}/change-company", data={"company_id": a.company.id}, htmx=True)
    assert resp.status_code == 422 and "Reseller staff belong to the reseller" in resp.text
    assert 'id="change-company-id-error"' in resp.text
    assert _reload(second).company_id == a.reseller.own_company.id


def test_change_company_to_same_or_no_company_is_422(reseller_client, world):
    a = world.a
    resp = reseller_client.post(f"/contacts/{a.contacts[0].id}/change-company", data={"company_id": a.company.id},
                                htmx=True)
    assert resp.status_code == 422 and "already in A Corp" in resp.text
    resp = reseller_client.post(f"/contacts/{a.contacts[0].id}/change-company", data={"company_id": ""}, htmx=True)
    assert resp.status_code == 422 and "Choose the company" in resp.text
    assert _hosts(a.team) == [a.contacts[0].id]


def test_change_company_to_foreign_company_is_404(reseller_client, world):
    a = world.a
    url = f"/contacts/{a.contacts[0].id}/change-company"
    assert reseller_client.get(f"{url}?company_id={world.b.company.id}").status_code == 404
    assert reseller_client.post(url, data={"company_id": world.b.company.id}, htmx=True).status_code == 404
    assert _reload(a.contacts[0]).company_id == a.company.id and _hosts(a.team) == [a.contacts[0].id]


def test_change_company_not_for_owners(app, world):
    owner = models.create_contact(world.a.company, {"first_name": "Olga", "last_name": "Owner",
                                                     "email": "olga@a.example"}, roles=("owner",))
    owner.password_hash = factories.PASSWORD_HASH
    db.session.commit()
    client = app.test_client()
    AuthActions(client).login("olga@a.example")
    c = world.a.contacts[0]
    assert client.get(f"/contacts/{c.id}/change-company").status_code == 404
    assert client.post(f"/contacts/{c.id}/change-company", data={"company_id": world.a.company.id}).status_code == 404
    assert ">Change company</button>" not in client.get(f"/contacts/{c.id}/edit").text


# ---------------------------------------------------------------- delete


def test_delete_contact(reseller_client, world):
    a = world.a
    factories.link(a.team, a.contacts[1])
    cid = a.contacts[0].id
    resp = reseller_client.post(f"/contacts/{cid}/delete", htmx=True)
    assert resp.status_code == 200 and resp.text == ""
    events = _trigger(resp)
    assert events["contacts-changed"] and events["companies-changed"] and events["rooms-changed"]
    assert _reload(a.contacts[0]) is None
    assert _hosts(a.team) == [a.contacts[1].id] and _owner_id(a.team) == a.contacts[1].id
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "delete",
                                                       AuditEvent.object_id == cid)).scalar_one()


def test_delete_self_or_last_reseller_user_is_refused(reseller_client, world):
    me = world.a.staff
    text = reseller_client.get(f"/contacts/{me.id}/delete", htmx=True).text
    assert "last reseller user" in text and ">Delete</button>" not in text
    resp = reseller_client.post(f"/contacts/{me.id}/delete", htmx=True)
    assert resp.status_code == 422 and "last reseller user" in resp.text
    second = factories.staff(world.a.reseller)  # no longer the last one, but still oneself
    resp = reseller_client.post(f"/contacts/{me.id}/delete", htmx=True)
    assert resp.status_code == 422 and "your own account" in resp.text
    assert _reload(me) is not None
    assert reseller_client.post(f"/contacts/{second.id}/delete", htmx=True).status_code == 200


# ---------------------------------------------------------------- Edit company: contacts inline


def test_company_edit_lists_contacts_inline(reseller_client, world):
    a = world.a
    text = reseller_client.get(f"/companies/{a.company.id}/edit").text
    assert 'id="company-contacts"' in text and 'id="company-contact-rows"' in text
    for c in a.contacts:
        assert f'id="contact-row-{c.id}"' in text and c.email in text
    assert 'id="contact-add-row"' in text and ">Add contact</button>" in text
    assert f'/contacts/{a.contacts[0].id}/edit?inline=1' in text
    assert f'/contacts/{a.contacts[0].id}/delete?inline=1' in text
    # every inline input has its label
    for name in ("first_name", "last_name", "email", "phone"):
        assert f'<label for="contact-add-{name}">' in text
    frag = reseller_client.get(f"/companies/{a.company.id}/edit", htmx=True).text
    assert "<html" not in frag


def test_inline_add_contact(reseller_client, world):
    a = world.a
    data = _new_data(company_id=a.company.id, inline="1")
    resp = reseller_client.post("/contacts", data=data, htmx=True)
    assert resp.status_code == 200 and "<html" not in resp.text
    new = db.session.execute(select(Contact).where(Contact.email == "nora@new.example")).scalar_one()
    body = resp.text.strip()
    # the new row, then a fresh add row (the pair replaces the add row)
    assert body.startswith(f'<tr id="contact-row-{new.id}"') and body.index("nora@new.example") < body.index(
        'id="contact-add-row"')
    assert 'value="Nora"' not in body  # the add row is empty again
    events = _trigger(resp)
    assert events["contacts-changed"] and events["companies-changed"]
    assert new.company_id == a.company.id


def test_inline_add_contact_plain_form_redirects_to_company(reseller_client, world):
    resp = reseller_client.post("/contacts", data=_new_data(company_id=world.a.company.id, inline="1"))
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/companies/{world.a.company.id}/edit")


def test_inline_add_contact_bad_input_keeps_add_row(reseller_client, world):
    data = _new_data(company_id=world.a.company.id, inline="1", email=world.a.contacts[0].email.upper())
    resp = reseller_client.post("/contacts", data=data, htmx=True)
    assert resp.status_code == 422
    body = resp.text.strip()
    assert body.startswith('<tr id="contact-add-row"') and "already in use" in body
    assert 'id="contact-add-email-error"' in body and 'value="Nora"' in body  # the typed values stay
    assert db.session.query(Contact).filter_by(first_name="Nora").count() == 0


def test_inline_edit_row_form(reseller_client, world):
    c = world.a.contacts[1]
    resp = reseller_client.get(f"/contacts/{c.id}/edit?inline=1", htmx=True)
    assert resp.status_code == 200 and "<html" not in resp.text
    body = resp.text.strip()
    assert body.startswith(f'<tr id="contact-row-{c.id}" class="editing"')
    assert f'form="contact-row-form-{c.id}"' in body and f'value="{c.email}"' in body
    assert f'<label for="contact-{c.id}-email">Email</label>' in body and ">Save</button>" in body
    # without htmx the same URL is the contact screen
    assert "<html" in reseller_client.get(f"/contacts/{c.id}/edit?inline=1").text


def test_inline_save_swaps_back_the_row(reseller_client, world):
    c = world.a.contacts[1]
    resp = reseller_client.post(f"/contacts/{c.id}", data=_edit_data(c, last_name="Inline", inline="1"), htmx=True)
    assert resp.status_code == 200
    body = resp.text.strip()
    assert body.startswith(f'<tr id="contact-row-{c.id}">') and "Inline" in body and "<form" not in body
    assert _trigger(resp)["contacts-changed"]
    assert _reload(c).last_name == "Inline"


def test_inline_save_bad_input_keeps_row_form(reseller_client, world):
    c = world.a.contacts[1]
    resp = reseller_client.post(f"/contacts/{c.id}", data=_edit_data(c, first_name="", inline="1"), htmx=True)
    assert resp.status_code == 422
    body = resp.text.strip()
    assert body.startswith(f'<tr id="contact-row-{c.id}" class="editing"')
    assert f'id="contact-{c.id}-first_name-error"' in body and "First name is required" in body
    assert _reload(c).first_name == c.first_name


def test_inline_save_stale_is_409_in_row(reseller_client, world):
    c = world.a.contacts[1]
    stale = _edit_data(c, inline="1")
    reseller_client.post(f"/contacts/{c.id}", data={**stale, "last_name": "One"}, htmx=True)
    resp = reseller_client.post(f"/contacts/{c.id}", data={**stale, "last_name": "Two"}, htmx=True)
    assert resp.status_code == 409 and "changed by someone else" in resp.text
    assert resp.text.strip().startswith(f'<tr id="contact-row-{c.id}" class="editing"')
    assert _reload(c).last_name == "One"


def test_inline_delete_shows_impact_and_removes_row(reseller_client, world):
    c = world.a.contacts[0]
    resp = reseller_client.get(f"/contacts/{c.id}/delete?inline=1", htmx=True)
    assert resp.status_code == 200 and "<html" not in resp.text
    body = page_text(resp).strip()
    assert body.startswith(f'<tr id="contact-row-{c.id}" class="confirm"')
    assert "with 1 host link (A Team)" in body and ">Delete</button>" in body and ">Cancel</button>" in body
    resp = reseller_client.post(f"/contacts/{c.id}/delete", data={"inline": "1"}, htmx=True)
    assert resp.status_code == 200 and resp.text == ""
    assert _reload(c) is None
    resp = reseller_client.post(f"/contacts/{world.a.contacts[1].id}/delete", data={"inline": "1"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/companies/{world.a.company.id}/edit")


# ---------------------------------------------------------------- another reseller's ids


ROUTES = [
    ("get", "/contacts/{contact}"),
    ("get", "/contacts/{contact}?inline=1"),
    ("get", "/contacts/{contact}/edit"),
    ("get", "/contacts/{contact}/edit?inline=1"),
    ("post", "/contacts/{contact}"),
    ("get", "/contacts/{contact}/rooms"),
    ("post", "/contacts/{contact}/rooms"),
    ("post", "/contacts/{contact}/rooms/{room}/unlink"),
    ("get", "/contacts/{contact}/change-company"),
    ("get", "/contacts/{contact}/change-company?company_id={company}"),
    ("post", "/contacts/{contact}/change-company"),
    ("get", "/contacts/{contact}/delete"),
    ("get", "/contacts/{contact}/delete?inline=1"),
    ("post", "/contacts/{contact}/delete"),
    ("get", "/contacts?company={company}"),
    ("get", "/contacts/new?company_id={company}"),
    ("post", "/contacts"),
]


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("htmx", [False, True])
def test_other_resellers_ids_are_404(other_client, world, method, path, htmx):
    """Signed in as reseller B, every contacts route on reseller A's ids answers 404 and changes nothing."""
    a = world.a
    contact = a.contacts[0]
    url = path.format(contact=contact.id, room=a.team.id, company=a.company.id)
    data = {**_edit_data(contact, first_name="Hijack", email="hijack@b.example"), "room_id": a.team.id,
            "company_id": a.company.id, "inline": "1"}
    resp = other_client.post(url, data=data, htmx=htmx) if method == "post" else other_client.get(url, htmx=htmx)
    assert resp.status_code == 404
    assert contact.email not in resp.text and "A Corp" not in resp.text
    fresh = _reload(contact)
    assert (fresh.first_name, fresh.email, fresh.company_id) == (contact.first_name, contact.email, a.company.id)
    assert _hosts(a.team) == [contact.id]
    assert db.session.query(Contact).filter_by(email="hijack@b.example").count() == 0


@pytest.mark.parametrize("method, path", [
    ("post", "/contacts/{contact}/rooms"),
    ("post", "/contacts/{contact}/rooms/{room}/unlink"),
])
def test_other_resellers_room_is_404(reseller_client, world, method, path):
    """Reseller A's own contact with reseller B's room: 404, and B's room keeps its Host."""
    b = world.b
    url = path.format(contact=world.a.contacts[1].id, room=b.team.id)
    resp = reseller_client.post(url, data={"room_id": b.team.id}, htmx=True)
    assert resp.status_code == 404 and "B Team" not in resp.text
    assert _hosts(b.team) == [b.contacts[0].id]


HUGE = "99999999999999999999"  # beyond any integer column: once a 500 (driver overflow)


def test_confirm_change_company_oversized_company_is_404(reseller_client, world):
    contact = world.a.contacts[0]
    assert reseller_client.get(f"/contacts/{contact.id}/change-company?company_id={HUGE}").status_code == 404


def test_link_room_oversized_room_id_is_explained(reseller_client, world):
    contact = world.a.contacts[1]
    resp = reseller_client.post(f"/contacts/{contact.id}/rooms", data={"room_id": HUGE}, htmx=True)
    assert resp.status_code == 422 and 'id="contact-rooms"' in resp.text and "Choose a room" in resp.text
