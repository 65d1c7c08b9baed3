"""Inline checks as the user types: the email, meeting link and company name fields ask the server
again (GET, nothing saved) and get their own field block back, with the save's words next to the field
(422) or without a message (200). The cross-tenant oracle rule holds here as on the save."""
from __future__ import annotations

import models
from extensions import db
from models import Company, Contact, Room
from models.conflicts import EMAIL_REFUSED, SLUG_REFUSED

from . import factories
from .test_oracles import error_of, foreign_names


def _counts():
    return [db.session.query(m).count() for m in (Company, Contact, Room)]


def test_a_taken_email_is_named_as_the_save_names_it(reseller_client, world):
    own = world.a.contacts[0]
    before = _counts()
    resp = reseller_client.get("/contacts/check-email", query_string={"email": own.email}, htmx=True)
    assert resp.status_code == 422
    assert resp.text.lstrip().startswith('<div class="field">')  # only the field's block
    assert 'id="contact-email"' in resp.text and 'aria-invalid="true"' in resp.text
    message = error_of(resp.text, "contact-email")
    assert "already in use" in message and own.name in message
    save = reseller_client.post("/contacts", data={"company_id": world.a.company.id, "first_name": "N",
                                                   "last_name": "M", "email": own.email}, htmx=True)
    assert error_of(save.text, "contact-email") == message
    assert _counts() == before


def test_a_free_email_has_no_message_and_the_own_email_is_free_on_edit(reseller_client, world):
    resp = reseller_client.get("/contacts/check-email", query_string={"email": "fresh@example.test"}, htmx=True)
    assert resp.status_code == 200 and "contact-email-error" not in resp.text
    assert 'value="fresh@example.test"' in resp.text
    c = world.a.contacts[1]
    resp = reseller_client.get("/contacts/check-email", query_string={"email": c.email, "contact_id": c.id}, htmx=True)
    assert resp.status_code == 200 and "contact-email-error" not in resp.text


def test_an_email_of_another_tenant_reads_as_an_invalid_one(reseller_client, world):
    answers = [reseller_client.get("/contacts/check-email", query_string={"email": e}, htmx=True)
               for e in (world.b.contacts[0].email, "not-an-email")]
    assert [r.status_code for r in answers] == [422, 422]
    assert error_of(answers[0].text, "contact-email") == error_of(answers[1].text, "contact-email") == EMAIL_REFUSED
    assert answers[0].text.replace(world.b.contacts[0].email, "E") == answers[1].text.replace("not-an-email", "E")
    for name in foreign_names(world):
        assert name not in answers[0].text


def test_check_email_of_a_foreign_contact_is_404(reseller_client, world):
    resp = reseller_client.get("/contacts/check-email", query_string={"email": "x@example.test",
                                                                      "contact_id": world.b.contacts[0].id}, htmx=True)
    assert resp.status_code == 404


def test_a_taken_meeting_link_offers_a_free_one_whoever_has_it(reseller_client, world):
    before = _counts()
    for taken in (world.a.personal.slug, world.b.team.slug):
        resp = reseller_client.get("/rooms/check-slug", query_string={"slug": taken, "room_id": world.a.team.id},
                                   htmx=True)
        assert resp.status_code == 422
        message = error_of(resp.text, "room-slug")
        assert message.startswith(SLUG_REFUSED) and f"Try {taken}-2." in message
        for name in foreign_names(world):
            assert name not in resp.text
    ok = reseller_client.get("/rooms/check-slug", query_string={"slug": world.a.team.slug, "room_id": world.a.team.id},
                             htmx=True)
    assert ok.status_code == 200 and "room-slug-error" not in ok.text
    bad = reseller_client.get("/rooms/check-slug", query_string={"slug": "Not OK!"}, htmx=True)
    assert bad.status_code == 422 and "single hyphens" in error_of(bad.text, "room-slug")
    assert reseller_client.get("/rooms/check-slug", query_string={"slug": ""}, htmx=True).status_code == 200
    assert reseller_client.get("/rooms/check-slug", query_string={"room_id": world.b.team.id},
                               htmx=True).status_code == 404
    assert _counts() == before


def test_a_taken_company_name_is_refused_in_the_saves_words(reseller_client, world):
    other = factories.company(world.a.reseller, "Zeta Works")
    db.session.commit()
    resp = reseller_client.get("/companies/check-name", query_string={"name": "zeta works"}, htmx=True)
    assert resp.status_code == 422
    message = error_of(resp.text, "company-name")
    save = reseller_client.post("/companies", data={"name": "zeta works", "type": "Business", "status": "prospect"},
                                htmx=True)
    assert save.status_code == 422 and error_of(save.text, "company-name") == message
    own = reseller_client.get("/companies/check-name", query_string={"name": "Zeta Works", "company_id": other.id},
                              htmx=True)
    assert own.status_code == 200 and "company-name-error" not in own.text
    # another reseller's company of that name is no concern of this one's
    free = reseller_client.get("/companies/check-name", query_string={"name": world.b.company.name}, htmx=True)
    assert free.status_code == 200
    assert reseller_client.get("/companies/check-name", query_string={"name": "x", "company_id": world.b.company.id},
                               htmx=True).status_code == 404


def test_the_forms_ask_for_the_check_as_the_user_types(reseller_client, world):
    page = reseller_client.get(f"/contacts/{world.a.contacts[1].id}/edit").text
    assert f'hx-get="/contacts/check-email?contact_id={world.a.contacts[1].id}"' in page
    assert 'hx-trigger="input changed delay:400ms"' in page
    assert 'hx-get="/rooms/check-slug' in reseller_client.get(f"/rooms/{world.a.team.id}/edit").text
    assert 'hx-get="/companies/check-name"' in reseller_client.get("/companies/new").text


def test_an_inline_check_runs_the_users_query_and_its_own_only(reseller_client, world):
    """As the user types, a check costs the signed-in user's query and its own lookups (the email's two: taken
    anywhere, and by whom among those this person sees): nothing loads the user again (a rollback before the
    fragment once expired the user, and the layout read it back: one query more on every keystroke)."""
    from .test_contacts import QueryCounter

    checks = [("/companies/check-name", {"name": "Zeta Works"}, 1),
              ("/contacts/check-email", {"email": "someone@new.example"}, 2),
              ("/rooms/check-slug", {"slug": "a-new-room"}, 1)]
    for path, query, own in checks:
        reseller_client.get(path, query_string=query, htmx=True)  # warm: the first request of a client may differ
        with QueryCounter() as qc:
            resp = reseller_client.get(path, query_string=query, htmx=True)
        assert resp.status_code == 200, path
        assert qc.n == 1 + own, (path, qc.n)
