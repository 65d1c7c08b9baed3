"""No cross-tenant oracles: emails and meeting links are unique in the whole portal, but a refusal
does not tell anyone that another tenant has one.

An email in use in another tenant (or in a company this person may not see) gets the same neutral
sentence as an address that cannot be used for any other reason, after the same statements; a
contact the person may see is named. A taken meeting link reads the same whoever has it, and
offers a free one. Through HTTP, on SQLite and on PostgreSQL (TEST_DATABASE_URL).
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

import models
from extensions import db
from models import Contact, Room
from models.conflicts import EMAIL_REFUSED, SLUG_REFUSED

from . import factories
from .conftest import AuthActions

NEUTRAL_MARK = "This email cannot be used"


@contextmanager
def statements():
    """The SQL statements the app runs inside the block (the request's, on any connection)."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def page(text: str, typed: str, mark: str) -> str:
    """The answer with what was typed replaced by a mark, and without the CSRF token (it is signed with the
    second it was made in, so two answers a second apart differ there and nowhere else)."""
    return re.sub(r'(csrf_token" value=")[^"]+', r"\1", text).replace(typed, mark)


def error_of(text: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error"[^>]*>(.*?)</', text, re.S)
    assert match, f"no {field_id}-error in {text[:1500]}"
    return match.group(1).strip()


def foreign_names(world) -> list[str]:
    b = world.b
    return [b.reseller.name, b.company.name, b.staff.name, *(c.name for c in b.contacts), b.team.name,
            b.personal.name]


def _new_contact(world, email, **kw):
    return {"company_id": world.a.company.id, "first_name": "Nora", "last_name": "New", "email": email, "phone": "",
            **kw}


def _post_twice(client, path, data_for, emails):
    """Each email in turn; the answers, and the statements each took (the second run, caches warm)."""
    out = {}
    for email in emails:
        client.post(path, data=data_for(email), htmx=True)  # warm: the same statements cached either way
    for email in emails:
        with statements() as seen:
            resp = client.post(path, data=data_for(email), htmx=True)
        out[email] = (resp, len(seen))
    return out


# --------------------------------------------------------------------------- emails


def test_add_contact_with_an_email_of_another_tenant_reads_as_an_invalid_one(reseller_client, world):
    foreign = world.b.contacts[0].email
    before = db.session.query(Contact).count()
    answers = _post_twice(reseller_client, "/contacts", lambda e: _new_contact(world, e),
                          [foreign, foreign.upper(), "not-an-email", "two@@example.test"])
    texts = {}
    for email, (resp, _) in answers.items():
        assert resp.status_code == 422, email
        assert error_of(resp.text, "contact-email") == EMAIL_REFUSED
        # the page is the same, but for the address typed (which the form gives back)
        texts[email] = page(resp.text, email, "EMAIL")
        for name in foreign_names(world):
            assert name not in resp.text
    assert len(set(texts.values())) == 1
    # the same statements either way: no lookup is skipped for an invalid address
    assert len({n for _, n in answers.values()}) == 1, {e: n for e, (_, n) in answers.items()}
    assert db.session.query(Contact).count() == before


def test_edit_contact_to_an_email_of_another_tenant_reads_as_an_invalid_one(reseller_client, world):
    c = world.a.contacts[1]

    def data(email):
        return {"first_name": c.first_name, "last_name": c.last_name, "email": email, "phone": "", "state": "live",
                "version": c.version}

    foreign = world.b.staff.email
    answers = _post_twice(reseller_client, f"/contacts/{c.id}", data, [foreign, "nobody-at-all"])
    assert {r.status_code for r, _ in answers.values()} == {422}
    (r1, n1), (r2, n2) = answers.values()
    assert error_of(r1.text, "contact-email") == error_of(r2.text, "contact-email") == EMAIL_REFUSED
    assert page(r1.text, foreign, "EMAIL") == page(r2.text, "nobody-at-all", "EMAIL")
    assert n1 == n2
    assert world.b.staff.name not in r1.text and world.b.reseller.name not in r1.text
    db.session.refresh(c)
    assert c.email != foreign


def test_an_email_in_the_own_tenant_names_the_contact(reseller_client, world):
    own = world.a.contacts[0]
    resp = reseller_client.post("/contacts", data=_new_contact(world, own.email.upper()), htmx=True)
    assert resp.status_code == 422
    message = error_of(resp.text, "contact-email")
    assert "already in use" in message and own.name in message and world.a.company.name in message
    assert NEUTRAL_MARK not in message


def test_an_owner_does_not_learn_about_another_company_of_the_same_reseller(app, world):
    mine = factories.company(world.a.reseller, "Mine Ltd")
    owner = factories.owner(mine)
    neighbour = world.a.contacts[0]  # A Corp: the same reseller, not the owner's company
    client = app.test_client()
    AuthActions(client).login(owner.email)

    def data(email):
        return {"company_id": mine.id, "first_name": "Nora", "last_name": "New", "email": email, "phone": ""}

    answers = _post_twice(client, "/contacts", data, [neighbour.email, "invalid@@x", owner.email])
    (rn, nn), (ri, ni), (ro, no) = answers.values()
    assert rn.status_code == ri.status_code == ro.status_code == 422
    assert error_of(rn.text, "contact-email") == error_of(ri.text, "contact-email") == EMAIL_REFUSED
    assert neighbour.name not in rn.text and world.a.company.name not in rn.text
    assert nn == ni
    # their own company's contact (themselves here) is named
    assert owner.name in error_of(ro.text, "contact-email")


def test_a_new_reseller_user_with_an_email_of_another_reseller(reseller_client, world):
    resp = reseller_client.post("/settings/users", data={"first_name": "N", "last_name": "S",
                                                         "email": world.b.contacts[1].email}, htmx=True)
    assert resp.status_code == 422 and error_of(resp.text, "user-email") == EMAIL_REFUSED
    assert world.b.contacts[1].name not in resp.text


def test_the_unique_key_under_a_race_gives_the_neutral_sentence(world):
    """When two requests pass the check together, the database refuses one: whose row won is not said."""
    db.session.add(Contact(company_id=world.a.company.id, reseller_id=world.a.reseller.id, first_name="X",
                           last_name="Y", email=world.b.contacts[0].email, role_names=""))

    @models.guarded
    def write():
        pass

    with pytest.raises(models.RuleError) as refused:
        write()
    assert (refused.value.field, refused.value.message, refused.value.status) == ("email", EMAIL_REFUSED, 422)


def test_the_administrator_sees_who_has_an_email(app, world):
    admin = factories.admin()
    client = app.test_client()
    AuthActions(client).login(admin.email)
    resp = client.post("/admin/resellers", data={"name": "Fresh R", "first_name": "A", "last_name": "B",
                                                 "email": world.b.contacts[0].email}, htmx=True)
    assert resp.status_code == 422 and world.b.contacts[0].name in resp.text


# --------------------------------------------------------------------------- meeting links


def _room_update(room, slug):
    return {"name": room.name, "product_type": room.product_type, "status": room.status, "slug": slug,
            "max_participants": room.max_participants, "pin": room.pin or "", "version": room.version,
            "end_date": room.end_date.isoformat() if room.end_date else ""}


def _free(slug: str) -> bool:
    db.session.rollback()
    return db.session.execute(
        select(Room.id).where(Room.slug == slug).execution_options(unscoped=True)).first() is None


@pytest.mark.parametrize("whose", ["own", "foreign"])
def test_a_taken_meeting_link_offers_a_free_one_in_the_same_words(reseller_client, world, whose):
    taken = world.a.personal if whose == "own" else world.b.personal
    factories.room(world.b.company, "Clash 2", slug=f"{taken.slug}-2")  # the next one is taken too, elsewhere
    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}", data=_room_update(room, taken.slug), htmx=True)
    assert resp.status_code == 422
    message = error_of(resp.text, "room-slug")
    suggestion = f"{taken.slug}-3"
    assert message == f"{SLUG_REFUSED} Try {suggestion}."
    assert _free(suggestion)
    for name in foreign_names(world):
        assert name not in resp.text
    # the suggestion is taken as it is
    db.session.refresh(room)
    resp = reseller_client.post(f"/rooms/{room.id}", data=_room_update(room, suggestion), htmx=True)
    assert resp.status_code == 200
    db.session.refresh(room)
    assert room.slug == suggestion


def test_own_and_foreign_meeting_links_read_the_same(reseller_client, world):
    """The same page, but for the typed link and its suggestion, whether the link is this tenant's or not."""
    factories.room(world.a.company, "Own Link", slug="same-words")
    factories.room(world.b.company, "Their Link", slug="same-wordz")
    room = world.a.team
    texts, counts = [], []
    for slug in ("same-words", "same-wordz", "same-words", "same-wordz"):
        with statements() as seen:
            resp = reseller_client.post(f"/rooms/{room.id}", data=_room_update(room, slug), htmx=True)
        assert resp.status_code == 422
        texts.append(page(resp.text, slug, "SLUG"))
        counts.append(len(seen))
    assert len(set(texts)) == 1 and "Their Link" not in texts[0] and "Own Link" not in texts[0]
    assert counts[2] == counts[3]


def test_a_host_changing_the_meeting_link_to_another_tenants(app, world):
    host = world.a.contacts[0]  # owner of the team room
    client = app.test_client()
    AuthActions(client).login(host.email)
    room = world.a.team
    resp = client.post(f"/my-rooms/{room.id}", data={"slug": world.b.team.slug, "version": room.version}, htmx=True)
    assert resp.status_code == 422
    message = error_of(resp.text, "settings-slug")
    assert message == f"{SLUG_REFUSED} Try {world.b.team.slug}-2." and _free(f"{world.b.team.slug}-2")
    for name in foreign_names(world):
        assert name not in resp.text


def test_a_new_room_with_another_tenants_link(reseller_client, world):
    data = {"company_id": world.a.company.id, "name": "Fresh", "product_type": "team room", "status": "trial",
            "slug": world.b.team.slug}
    resp = reseller_client.post("/rooms", data=data, htmx=True)
    assert resp.status_code == 422
    assert error_of(resp.text, "room-slug") == f"{SLUG_REFUSED} Try {world.b.team.slug}-2."


def test_the_slug_unique_key_under_a_race_still_offers_a_free_link(world, monkeypatch):
    """The check passed, then the database refused the link (taken meanwhile): a free one is offered."""
    factories.room(world.b.company, "Theirs", slug="raced")
    room = world.a.team
    original, calls = models.rooms.slug_taken, []

    def check_before_the_other_request(slug, exclude_id=None):  # the first check sees the link free
        calls.append(slug)
        return False if len(calls) == 1 else original(slug, exclude_id)

    monkeypatch.setattr(models.rooms, "slug_taken", check_before_the_other_request)
    with pytest.raises(models.RuleError) as refused:
        models.update_room(room, _room_update(room, "raced"))
    assert (refused.value.field, refused.value.status) == ("slug", 422)
    assert refused.value.message == f"{SLUG_REFUSED} Try raced-2."


def test_a_long_link_gets_a_valid_suggestion(world):
    base = "a" * 54 + "-bcdef"  # 60 characters; cut at 55 it ends in a hyphen
    factories.room(world.b.company, "Long", slug=base)
    suggestion = models.unique_slug(base)
    assert suggestion == "a" * 54 + "-2" and models.rooms.SLUG_RE.match(suggestion)
