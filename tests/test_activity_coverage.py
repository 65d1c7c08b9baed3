"""Every kind of change writes its audit event in the same transaction: who, what, and each field
before → after, with no secret (passwords, password links, embed secrets) anywhere in the trail."""
import json
import re

from sqlalchemy import select

import models
from extensions import db
from models import AuditEvent, Company, Contact, OutboxMessage

from . import factories
from .conftest import AuthActions
from .test_embed import PARTNER, make_token

LINK_RE = re.compile(r"/password/([A-Za-z0-9_\-]+)")


def events(**where):
    db.session.rollback()
    stmt = select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
    return list(db.session.execute(stmt).scalars())


def last(**where) -> AuditEvent:
    found = events(**where)
    assert found, f"no audit event {where}"
    return found[-1]


def changes(event) -> dict:
    return json.loads(event.changes)


def trail_text() -> str:
    return " ".join(f"{e.summary} {e.changes}" for e in events())


def room_form(room, **kw):
    return {"name": room.name, "product_type": room.product_type, "status": room.status,
            "end_date": room.end_date.isoformat() if room.end_date else "", "slug": room.slug,
            "max_participants": room.max_participants, "pin": room.pin or "", "version": room.version, **kw}


def test_create_company_records_its_initial_values(reseller_client, world):
    resp = reseller_client.post("/companies", data={"name": "Fresh Co", "type": "Education", "status": "prospect"},
                                htmx=True)
    assert resp.status_code == 200
    company = db.session.execute(select(Company).where(Company.name == "Fresh Co")).scalar_one()
    e = last(action="create", object_type="Company", object_id=company.id)
    assert changes(e)["name"] == [None, "Fresh Co"] and changes(e)["type"] == [None, "Education"]
    assert changes(e)["status"] == [None, "prospect"]
    assert (e.actor_id, e.actor_name) == (world.a.staff.id, world.a.staff.name)
    assert (e.reseller_id, e.company_id) == (world.a.reseller.id, company.id)


def test_edit_company_records_before_and_after(reseller_client, world):
    c = world.a.company
    resp = reseller_client.post(f"/companies/{c.id}", data={"name": "A Renamed", "type": c.type, "status": "prospect",
                                                              "version": c.version}, htmx=True)
    assert resp.status_code == 200
    e = last(action="update", object_type="Company", object_id=c.id)
    assert changes(e) == {"name": ["A Corp", "A Renamed"], "status": ["customer", "prospect"]}


def test_create_contact_records_values_and_the_welcome_link_without_its_token(reseller_client, world):
    resp = reseller_client.post("/contacts", data={"first_name": "Wendy", "last_name": "Welcome",
                                                   "email": "wendy@a.example", "company_id": world.a.company.id},
                                htmx=True)
    assert resp.status_code == 200
    wendy = db.session.execute(select(Contact).where(Contact.email == "wendy@a.example")).scalar_one()
    created = changes(last(action="create", object_type="Contact", object_id=wendy.id))
    assert created["email"] == [None, "wendy@a.example"] and created["company"] == [None, "A Corp"]
    assert created["first_name"] == [None, "Wendy"] and created["state"] == [None, "live"]
    welcome = last(action="welcome_link", object_id=wendy.id)
    assert changes(welcome) == {"link": [None, "(hidden)"], "sent to": [None, "wendy@a.example"]}
    mail = db.session.execute(select(OutboxMessage).where(OutboxMessage.recipients.contains("wendy@a.example"))).scalar_one()
    token = LINK_RE.search(mail.body_text).group(1)
    assert token not in trail_text()


def test_edit_room_records_each_field_and_hides_the_pin(reseller_client, world):
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}", data=room_form(room, name="A Team Renamed", max_participants="40",
                                                                     pin="4321", lobby="1"), htmx=True)
    assert resp.status_code == 200, resp.text[:300]
    e = changes(last(action="update", object_type="Room", object_id=room.id))
    assert e["name"] == ["A Team", "A Team Renamed"] and e["max_participants"] == [25, 40]
    assert e["lobby"] == [False, True] and e["pin"] == [None, "(hidden)"]
    assert "4321" not in trail_text()


def test_delete_company_records_the_names_and_emails_that_went_with_it(reseller_client, world):
    a = world.a
    cid = a.company.id
    people = [(c.name, c.email) for c in a.contacts]
    resp = reseller_client.post(f"/companies/{cid}/delete", htmx=True)
    assert resp.status_code == 200
    e = last(action="delete", object_type="Company", object_id=cid)
    went = changes(e)
    assert went["name"] == ["A Corp", None]
    for name, email in people:
        assert f"{name} <{email}>" in went["contacts"][0]
    assert sorted(went["rooms"][0]) == ["A Personal", "A Team"]
    assert went["host links"][0] == [f"{people[0][0]} on A Team (owner)"]


def test_delete_room_records_its_hosts_with_emails(reseller_client, world):
    a = world.a
    rid = a.team.id
    resp = reseller_client.post(f"/rooms/{rid}/delete", htmx=True)
    assert resp.status_code == 200
    went = changes(last(action="delete", object_type="Room", object_id=rid))
    assert went["hosts"] == [[f"{a.contacts[0].name} <{a.contacts[0].email}> (owner)"], None]
    assert went["name"] == ["A Team", None] and went["company"] == ["A Corp", None]


def test_delete_contact_records_their_details_and_hosted_rooms(reseller_client, world):
    a = world.a
    host_id, email = a.contacts[0].id, a.contacts[0].email
    resp = reseller_client.post(f"/contacts/{host_id}/delete", htmx=True)
    assert resp.status_code == 200
    went = changes(last(action="delete", object_type="Contact", object_id=host_id))
    assert went["email"] == [email, None] and went["hosted rooms"] == [["A Team"], None]


def test_link_and_unlink_name_the_contact_in_both_histories(reseller_client, world):
    a = world.a
    other = a.contacts[1]
    assert reseller_client.post(f"/rooms/{a.team.id}/hosts", data={"contact_id": other.id}, htmx=True).status_code == 200
    linked = last(action="link", object_id=a.team.id)
    assert changes(linked) == {"host": [None, other.name]}
    assert (linked.related_type, linked.related_id, linked.company_id) == ("Contact", other.id, a.company.id)
    resp = reseller_client.post(f"/rooms/{a.team.id}/hosts/{a.contacts[0].id}/delete", htmx=True)
    assert resp.status_code == 200
    unlinked = last(action="unlink", object_id=a.team.id)
    assert changes(unlinked) == {"host": [a.contacts[0].name, None], "owner": [a.contacts[0].name, other.name]}
    assert (unlinked.related_type, unlinked.related_id) == ("Contact", a.contacts[0].id)


def test_make_owner_records_old_and_new_owner(reseller_client, world):
    a = world.a
    factories.link(a.team, a.contacts[1])
    resp = reseller_client.post(f"/rooms/{a.team.id}/hosts/{a.contacts[1].id}/owner", htmx=True)
    assert resp.status_code == 200
    assert changes(last(action="make_owner", object_id=a.team.id)) == {"owner": [a.contacts[0].name, a.contacts[1].name]}


def test_role_change_records_roles_before_and_after(reseller_client, world):
    person = world.a.contacts[1]
    assert reseller_client.post(f"/contacts/{person.id}/roles", data={"owner": "1"}, htmx=True).status_code == 200
    assert changes(last(action="roles", object_id=person.id)) == {"roles": [[], ["owner"]]}


def test_company_move_names_both_companies_and_the_unlinked_rooms(reseller_client, world):
    a = world.a
    second = factories.company(a.reseller, "A Second")
    host = a.contacts[0]
    resp = reseller_client.post(f"/contacts/{host.id}/change-company", data={"company_id": second.id}, htmx=True)
    assert resp.status_code < 400
    e = last(action="change_company", object_id=host.id)
    assert changes(e) == {"company": ["A Corp", "A Second"], "unlinked rooms": [["A Team"], None]}
    assert (e.company_id, e.related_type, e.related_id) == (second.id, "Company", a.company.id)


def test_reset_password_and_set_password_keep_no_secret(app, reseller_client, world):
    person = world.a.contacts[1]
    assert reseller_client.post(f"/contacts/{person.id}/reset-password", htmx=True).status_code == 200
    sent = last(action="password_link", object_id=person.id)
    assert changes(sent) == {"link": [None, "(hidden)"], "sent to": [None, person.email]}
    assert sent.actor_name == world.a.staff.name
    mail = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
    token = LINK_RE.search(mail.body_text).group(1)
    anon = app.test_client()
    new_password = "a brand new secret phrase"
    resp = anon.post(f"/password/{token}", data={"password": new_password, "password_repeat": new_password})
    assert resp.status_code in (200, 302, 303)
    done = last(action="set_password", object_id=person.id)
    assert changes(done) == {"password": ["(hidden)", "(hidden)"]}
    assert (done.actor_id, done.actor_name) == (person.id, person.name)
    text = trail_text()
    assert token not in text and new_password not in text and "pbkdf2" not in text and "scrypt" not in text


def test_users_create_with_a_password_records_that_one_was_set(app, world):
    user = models.create_user("cli.user@a.example", "reseller", "a cli password phrase", world.a.reseller)
    db.session.commit()
    e = changes(last(action="create_user", object_id=user.id))
    assert e["password"] == [None, "(hidden)"] and e["roles"] == [None, ["reseller"]]
    assert "a cli password phrase" not in trail_text()
    assert events(action="welcome_link", object_id=user.id) == []


def test_embed_sign_in_is_recorded_for_the_person(client, world):
    world.a.reseller.embed_origins = PARTNER
    db.session.commit()
    resp = client.get("/embed/sso", query_string={"token": make_token(world.a.staff, path="/rooms")})
    assert resp.status_code == 200
    e = last(action="embed_sign_in")
    assert (e.object_type, e.object_id, e.actor_id, e.actor_name) == ("Contact", world.a.staff.id, world.a.staff.id,
                                                                      world.a.staff.name)
    assert changes(e) == {"page": [None, "/rooms"]}
    assert world.a.reseller.embed_secret not in trail_text()


def test_view_as_start_and_stop_name_the_real_person(reseller_client, world):
    host = world.a.contacts[0]
    assert reseller_client.post(f"/view-as/{host.id}").status_code == 303
    assert reseller_client.post("/view-as/stop").status_code == 303
    start, stop = last(action="view_as_start"), last(action="view_as_stop")
    for e in (start, stop):
        assert (e.object_id, e.actor_id, e.actor_name) == (host.id, world.a.staff.id, world.a.staff.name)
    assert changes(start) == {"viewing as": [None, host.name]} and changes(stop) == {"viewing as": [host.name, None]}


def test_settings_change_records_origins_and_rotation_is_masked(reseller_client, world):
    r = world.a.reseller
    form = {"trial_days": "20", "demo_days": str(r.demo_days), "brand_color": r.brand_color, "logo_url": "",
            "embed_origins": "https://partner.example"}
    assert reseller_client.post("/settings", data=form, htmx=True).status_code == 200
    e = changes(last(action="update", object_type="Reseller", object_id=r.id))
    assert e["trial_days"] == [14, 20] and e["embed_origins"] == ["", "https://partner.example"]
    old = r.embed_secret
    assert reseller_client.post("/settings/embed/rotate", htmx=True).status_code == 200
    rotated = last(action="rotate_embed_secret")
    assert changes(rotated) == {"embed_secret": ["(hidden)", "(hidden)"]}
    db.session.refresh(r)
    assert reseller_client.post("/settings/embed/drop-previous", htmx=True).status_code == 200
    assert changes(last(action="drop_previous_embed_secret")) == {"embed_secret_previous": ["(hidden)", None]}
    text = trail_text()
    assert old not in text and r.embed_secret not in text


def test_audit_hides_secret_fields_whoever_passes_them(world):
    models.audit("update", world.a.contacts[0], "test", {"password": ["old-secret", "new-secret"], "token": "tok-123",
                                                         "first_name": ["A", "B"]})
    db.session.commit()
    e = changes(last(action="update", object_id=world.a.contacts[0].id, summary="test"))
    assert e == {"password": ["(hidden)", "(hidden)"], "token": "(hidden)", "first_name": ["A", "B"]}


def test_the_actors_name_stays_after_the_actor_is_deleted(app, world):
    helper = factories.staff(world.a.reseller, email="helper@a.example")
    c = app.test_client()
    AuthActions(c).login(helper.email)
    room = world.a.team
    assert c.post(f"/rooms/{room.id}", data=room_form(room, name="Renamed by helper"), htmx=True).status_code == 200
    name, helper_id = helper.name, helper.id
    models.delete_contact(db.session.get(Contact, helper_id))
    db.session.commit()
    assert last(action="update", object_id=room.id).actor_name == name


def test_an_event_is_written_in_the_changes_transaction(world):
    """A refused change leaves no event: the event goes with the change or not at all."""
    before = len(events())
    try:
        models.update_company(world.a.company, {"name": "", "type": "Business", "status": "customer"})
    except models.RuleError:
        db.session.rollback()
    assert len(events()) == before
