"""Trash and undo: a delete moves the object and everything that goes with it to the Trash; Restore
(or the toast's Undo) brings it back exactly, ids and links included; purge removes what is older
than TRASH_DAYS; trashed contacts lose every way in."""
import json
from datetime import datetime, timedelta

from sqlalchemy import func, select

import models
from extensions import db
from models import AuditEvent, Company, Contact, Hosting, OutboxMessage, PasswordToken, Room, TrashItem

from . import factories
from .conftest import AuthActions, page_text


def _trigger(resp) -> dict:
    return json.loads(resp.headers["HX-Trigger"])


def _links(company_id) -> list[tuple]:
    db.session.rollback()
    return sorted(db.session.execute(
        select(Hosting.id, Hosting.room_id, Hosting.contact_id, Hosting.is_owner, Hosting.linked_at)
        .where(Hosting.company_id == company_id)).all())


def _rows(model, *where) -> list[tuple]:
    db.session.rollback()
    table = model.__table__
    return sorted(tuple(r) for r in db.session.execute(select(table).where(*where)).all())


def _populated(world):
    """A Corp with a second Host on the team room (not the owner) and a Host on the personal room."""
    a = world.a
    factories.link(a.team, a.contacts[1])
    factories.link(a.personal, a.contacts[1])
    return a


def _events(action, object_type, object_id):
    db.session.rollback()
    return db.session.execute(select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
    ).scalars().all()


# ---------------------------------------------------------------- delete -> Trash -> restore


def test_delete_company_goes_to_trash_and_restore_brings_everything_back(reseller_client, world):
    a = _populated(world)
    cid, team_id = a.company.id, a.team.id
    emails = [c.email for c in a.contacts]
    before = {m: _rows(m, m.company_id == cid) for m in (Contact, Room, Hosting)}
    company_before = _rows(Company, Company.id == cid)
    resp = reseller_client.post(f"/companies/{cid}/delete", htmx=True)
    assert resp.status_code == 200
    events = _trigger(resp)
    item = db.session.execute(select(TrashItem)).scalar_one()
    assert events["toast-undo"] == f"/trash/{item.id}/restore" and "Deleted company A Corp" in events["toast"]
    assert _rows(Company, Company.id == cid) == [] and _rows(Contact, Contact.company_id == cid) == []
    # the audit event names what went with it, with emails
    (deleted,) = _events("delete", "Company", cid)
    changes = json.loads(deleted.changes)
    assert changes["name"] == ["A Corp", None]  # before -> after, and what went with it
    assert any(emails[1] in c for c in changes["contacts"][0]) and "A Team" in changes["rooms"][0]
    assert any("(owner)" in link for link in changes["host links"][0])

    text = page_text(reseller_client.get("/trash"))
    assert "A Corp" in text and "2 contacts" in text and emails[0] in text and "A Team" in text
    assert world.a.staff.name in text and "Restore" in text

    resp = reseller_client.post(f"/trash/{item.id}/restore", htmx=True)
    assert resp.status_code == 200, resp.text
    assert "Restored company A Corp" in _trigger(resp)["toast"]
    for model in (Contact, Room, Hosting):
        after = _rows(model, model.company_id == cid)
        if model is Contact:  # the same rows, with a new session generation (sessions from before stay ended)
            epoch = list(Contact.__table__.c.keys()).index("session_epoch")
            after = [r[:epoch] + (r[epoch] - 1,) + r[epoch + 1:] for r in after]
        assert after == before[model], model
    assert _rows(Company, Company.id == cid) == company_before
    assert db.session.execute(select(func.count()).select_from(TrashItem)).scalar() == 0
    assert _events("restore", "Company", cid)
    # and the screens show it again
    assert "A Corp" in reseller_client.get("/companies").text
    assert reseller_client.get(f"/rooms/{team_id}/edit").status_code == 200


def test_delete_contact_and_restore_gives_ownership_back(reseller_client, world):
    a = _populated(world)
    owner = a.contacts[0]
    owner_id, owner_email, second_id = owner.id, owner.email, a.contacts[1].id
    resp = reseller_client.post(f"/contacts/{owner_id}/delete", htmx=True)
    assert resp.status_code == 200 and "toast-undo" in _trigger(resp)
    db.session.rollback()
    assert db.session.get(Room, a.team.id).owner.id == second_id  # ownership passed on meanwhile
    item = db.session.execute(select(TrashItem)).scalar_one()
    assert item.kind == "contact" and owner_email in item.label
    resp = reseller_client.post(f"/trash/{item.id}/restore", htmx=True)
    assert resp.status_code == 200, resp.text
    db.session.rollback()
    room = db.session.get(Room, a.team.id)
    assert {h.contact_id for h in room.hostings} == {owner_id, second_id}
    assert room.owner.id == owner_id
    assert db.session.get(Contact, owner_id).company_id == a.company.id


def test_delete_room_and_unlink_offer_undo(reseller_client, world):
    a = _populated(world)
    resp = reseller_client.post(f"/rooms/{a.team.id}/hosts/{a.contacts[0].id}/delete", htmx=True)
    undo = _trigger(resp)["toast-undo"]
    db.session.rollback()
    assert db.session.get(Room, a.team.id).owner.id == a.contacts[1].id
    assert reseller_client.post(undo, htmx=True).status_code == 200
    db.session.rollback()
    room = db.session.get(Room, a.team.id)
    assert room.owner.id == a.contacts[0].id and len(room.hostings) == 2
    assert len(room.hostings) == len({h.id for h in room.hostings})

    hosts_before = _links(a.company.id)
    team_id, second_email = a.team.id, a.contacts[1].email
    resp = reseller_client.post(f"/rooms/{team_id}/delete", htmx=True)
    undo = _trigger(resp)["toast-undo"]
    (deleted,) = _events("delete", "Room", team_id)
    assert second_email in deleted.changes
    assert reseller_client.post(undo, htmx=True).status_code == 200
    assert _links(a.company.id) == hosts_before
    # an item restored once is gone: its Undo again is 404
    assert reseller_client.post(undo, htmx=True).status_code == 404


def test_plain_form_delete_and_restore_redirect(reseller_client, world):
    resp = reseller_client.post(f"/rooms/{world.a.personal.id}/delete")
    assert resp.status_code == 303
    item = db.session.execute(select(TrashItem)).scalar_one()
    resp = reseller_client.post(f"/trash/{item.id}/restore")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/trash")


def test_new_rows_never_take_a_trashed_rows_id(reseller_client, world):
    """SQLite gives max(id) + 1; the newest company, contact and room are trashed, then new ones are added."""
    late = factories.company(world.a.reseller, "Latest Ltd")
    person = factories.contact(late, first="Lara")
    room = factories.room(late, "Latest Room")
    ids, email = (late.id, person.id, room.id), person.email
    assert reseller_client.post(f"/companies/{late.id}/delete", htmx=True).status_code == 200
    again = factories.company(world.a.reseller, "Latest Ltd")  # the name is free again
    new_person = factories.contact(again, first="Lara", email=email)  # and the email
    new_room = factories.room(again, "Latest Room")
    assert again.id > ids[0] and new_person.id > ids[1] and new_room.id > ids[2]


# ---------------------------------------------------------------- collisions: rename, then restore


def test_restore_that_collides_asks_for_new_values(reseller_client, world):
    a = _populated(world)
    email, slug = a.contacts[1].email, a.team.slug
    cid, second_id, team_id = a.company.id, a.contacts[1].id, a.team.id
    reseller_client.post(f"/companies/{cid}/delete", htmx=True)
    item = db.session.execute(select(TrashItem)).scalar_one()
    # meanwhile the name, an email and a meeting link are taken again
    factories.contact(factories.company(a.reseller, "A Corp"), first="Copy", email=email)
    factories.room(factories.company(a.reseller, "Other"), "Taken", slug=slug)

    resp = reseller_client.post(f"/trash/{item.id}/restore", htmx=True)
    assert resp.status_code == 422
    text = page_text(resp)
    assert "A company named “A Corp” exists now" in text and f"The email {email} cannot be used now" in text
    assert f"The meeting link {slug} of A Team cannot be used now" in text
    assert 'name="name"' in text and f'name="email_{second_id}"' in text and f'name="slug_{team_id}"' in text
    assert "<html" not in text

    # a new value that is no email: said next to that field
    resp = reseller_client.post(f"/trash/{item.id}/restore", htmx=True,
                                data={"name": "A Corp (restored)", f"email_{second_id}": "nope",
                                      f"slug_{team_id}": "a-team-again"})
    assert resp.status_code == 422 and f'id="restore-email_{second_id}-error"' in resp.text

    resp = reseller_client.post(f"/trash/{item.id}/restore", htmx=True,
                                data={"name": "A Corp (restored)", f"email_{second_id}": "back@a.example",
                                      f"slug_{team_id}": "a-team-again"})
    assert resp.status_code == 200, resp.text
    db.session.rollback()
    assert db.session.get(Company, cid).name == "A Corp (restored)"
    assert db.session.get(Contact, second_id).email == "back@a.example"
    assert db.session.get(Room, team_id).slug == "a-team-again"
    assert len(db.session.get(Room, team_id).hostings) == 2


def test_full_page_restore_conflict_shows_the_form(reseller_client, world):
    slug = world.a.personal.slug
    reseller_client.post(f"/rooms/{world.a.personal.id}/delete")
    item = db.session.execute(select(TrashItem)).scalar_one()
    factories.room(world.a.company, "Squatter", slug=slug)
    resp = reseller_client.post(f"/trash/{item.id}/restore")
    assert resp.status_code == 422 and "<html" in resp.text and "New meeting link for A Personal" in resp.text


def test_contact_of_a_trashed_company_waits_for_the_company(reseller_client, world):
    a = world.a
    reseller_client.post(f"/contacts/{a.contacts[1].id}/delete", htmx=True)
    reseller_client.post(f"/companies/{a.company.id}/delete", htmx=True)
    contact_item = db.session.execute(select(TrashItem).where(TrashItem.kind == "contact")).scalar_one()
    resp = reseller_client.post(f"/trash/{contact_item.id}/restore", htmx=True)
    assert resp.status_code == 409 and "Restore the company first" in resp.text


# ---------------------------------------------------------------- purge


def test_purge_removes_only_what_is_older_than_30_days(app, runner, reseller_client, world, frozen_now):
    start = datetime(2026, 1, 1, 9, 0)
    frozen_now(start)
    personal_id = world.a.personal.id
    reseller_client.post(f"/rooms/{world.a.personal.id}/delete", htmx=True)
    frozen_now(start + timedelta(days=20))
    reseller_client.post(f"/rooms/{world.a.team.id}/delete", htmx=True)
    assert app.config["TRASH_DAYS"] == 30

    frozen_now(start + timedelta(days=30, hours=1))
    result = runner.invoke(args=["trash", "purge"])
    assert result.exit_code == 0 and "Purged 1 item" in result.output, result.output
    db.session.rollback()
    assert [i.label for i in db.session.execute(select(TrashItem)).scalars()] == ["A Team"]
    assert _events("purge", "Room", personal_id)
    again = runner.invoke(args=["trash", "purge"])  # cron runs it again: nothing more to do
    assert "Purged 0 items" in again.output
    # what is left is restorable until its 30 days are over
    frozen_now(start + timedelta(days=49))
    assert "A Team" in reseller_client.get("/trash").text
    frozen_now(start + timedelta(days=51))
    assert "A Team" not in reseller_client.get("/trash").text


# ---------------------------------------------------------------- a trashed contact loses every way in


def test_trashed_contact_cannot_log_in_and_loses_mail_and_links(app, client, reseller_client, world):
    a = world.a
    person = a.contacts[1]
    person_id, email = person.id, person.email
    token = models.issue_password_token(person, "reset")
    models.send_password_link(person, "reset")
    db.session.commit()
    their_session = app.test_client()
    AuthActions(their_session).login(person.email)
    assert their_session.get("/my-rooms").status_code == 200
    queued = db.session.execute(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.recipients.contains(person.email), OutboxMessage.sent_at.is_(None))).scalar()
    assert queued >= 1

    assert reseller_client.post(f"/contacts/{person_id}/delete", htmx=True).status_code == 200
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.recipients.contains(email), OutboxMessage.sent_at.is_(None))).scalar() == 0
    assert db.session.execute(select(func.count()).select_from(PasswordToken).where(
        PasswordToken.contact_id == person_id)).scalar() == 0
    resp = client.post("/login", data={"email": email, "password": factories.PASSWORD})
    assert resp.status_code not in (302, 303)
    assert client.get(f"/password/{token}").status_code == 400
    resp = their_session.get("/my-rooms")  # their session ended
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]

    # restored: they can sign in again, but the old session stays ended
    item = db.session.execute(select(TrashItem)).scalar_one()
    assert reseller_client.post(f"/trash/{item.id}/restore", htmx=True).status_code == 200
    assert their_session.get("/my-rooms").status_code in (302, 303)
    AuthActions(app.test_client()).login(email)


# ---------------------------------------------------------------- who may restore


def test_restore_of_another_resellers_item_is_404(reseller_client, other_client, world):
    reseller_client.post(f"/rooms/{world.a.team.id}/delete", htmx=True)
    item = db.session.execute(select(TrashItem)).scalar_one()
    assert other_client.post(f"/trash/{item.id}/restore", htmx=True).status_code == 404
    assert "A Team" not in other_client.get("/trash").text
    assert reseller_client.post("/trash/2147483647/restore", htmx=True).status_code == 404
    db.session.rollback()
    assert db.session.get(TrashItem, item.id) is not None


def test_owner_restores_within_their_company_only(client, auth, reseller_client, world):
    a = world.a
    me = factories.owner(a.company)
    other = factories.company(a.reseller, "Neighbour Ltd")
    reseller_client.post(f"/rooms/{factories.room(other, 'Their Room').id}/delete", htmx=True)
    reseller_client.post(f"/companies/{factories.company(a.reseller, 'Gone Ltd').id}/delete", htmx=True)
    auth.login(me.email)
    resp = client.post(f"/rooms/{a.personal.id}/delete", htmx=True)  # an Owner may delete their rooms today
    undo = _trigger(resp)["toast-undo"]
    text = client.get("/trash").text
    assert "A Personal" in text and "Their Room" not in text and "Gone Ltd" not in text
    for item in db.session.execute(select(TrashItem).where(TrashItem.label != "A Personal")).scalars().all():
        assert client.post(f"/trash/{item.id}/restore", htmx=True).status_code == 404
    assert client.post(undo, htmx=True).status_code == 200


def test_host_only_contact_has_no_trash(client, auth, world):
    auth.login(world.a.contacts[0].email)
    assert client.get("/trash").status_code == 404
    assert ">Trash<" not in client.get("/my-rooms").text


def test_trash_page_and_fragment(reseller_client, world):
    page = reseller_client.get("/trash")
    assert "<html" in page.text and 'id="trash-table"' in page.text and ">Trash</a>" in page.text
    frag = reseller_client.get("/trash", htmx=True, headers={"HX-Target": "trash-table"})
    assert "<html" not in frag.text and 'id="trash-table"' in frag.text
    assert "The Trash is empty." in frag.text


def test_unlink_from_the_contact_screen_offers_undo(reseller_client, world):
    a = _populated(world)
    resp = reseller_client.post(f"/contacts/{a.contacts[1].id}/rooms/{a.personal.id}/unlink", htmx=True)
    events = _trigger(resp)
    assert resp.status_code == 200 and "Unlinked" in events["toast"] and events["toast-undo"].startswith("/trash/")
    assert "A Personal" in reseller_client.get("/trash").text
    assert reseller_client.post(events["toast-undo"], htmx=True).status_code == 200
    db.session.rollback()
    assert [h.contact_id for h in db.session.get(Room, a.personal.id).hostings] == [a.contacts[1].id]
