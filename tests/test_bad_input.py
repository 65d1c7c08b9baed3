"""Hostile input in every form field, search box and sign-in token: 2xx when it is fine to keep,
otherwise 401/403/404/409/422 with words, and never a 500 (the test client raises on one).

The values: a NUL byte (PostgreSQL refuses it in text), 61 × "İ" (fits a name, but its
lower-cased key is 122 code points), 100,000 characters, and LIKE wildcards and quotes.
No text column ever ends up holding a NUL, on SQLite either.
"""
from __future__ import annotations

import html
import time
import uuid
from urllib.parse import quote

import jwt
import pytest
from sqlalchemy import String, Text, select, text

import models
from extensions import db
from models import Company, Room

from . import factories
from .conftest import AuthActions

DOTTED_I = "İ" * 61
BAD = {
    "nul": "bad\x00value",
    "dotted_i": DOTTED_I,
    "huge": "x" * 100_000,
    "wildcards": "50%_off",
    "quotes": "O'Brien \"Q\" `x` \\",
}
OK = (200, 204, 303)
REFUSED = (401, 403, 404, 409, 422)


def assert_answered(resp, value) -> None:
    assert resp.status_code in OK + REFUSED, resp.status_code
    if resp.status_code in REFUSED:
        assert resp.get_data(as_text=True).strip(), "a refusal says why"


def assert_no_nul_stored() -> None:
    """PostgreSQL cannot store a NUL in text; SQLite could, so check that nothing did."""
    if db.engine.dialect.name != "sqlite":
        return
    db.session.rollback()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text)):
                n = db.session.execute(text(
                    f'SELECT count(*) FROM "{table.name}" WHERE instr(CAST("{column.name}" AS BLOB), x\'00\') > 0'
                )).scalar()
                assert n == 0, f"{table.name}.{column.name} holds a NUL"


def assert_hosting_rules() -> None:
    from .test_races import assert_hosting_rules as check

    check()


# --------------------------------------------------------------------------- forms


def _forms(w) -> dict:
    """Each form: (path, valid data); every field is tried with every bad value in turn."""
    a = w.a
    return {
        "company_create": ("/companies", {"name": "Fresh Co", "type": "Business", "status": "prospect", "branded": "1"}),
        "company_update": (f"/companies/{a.company.id}", {"name": "A Corp", "type": "Business", "status": "customer",
                                                          "branded": "", "version": a.company.version}),
        "contact_create": ("/contacts", {"company_id": a.company.id, "first_name": "Fresh", "last_name": "Person",
                                         "email": "fresh@a.example", "phone": "0123 456"}),
        "contact_update": (f"/contacts/{a.contacts[1].id}", {
            "first_name": "Pat", "last_name": "Edited", "email": a.contacts[1].email, "phone": "",
            "state": "live", "version": a.contacts[1].version}),
        "contact_inline_update": (f"/contacts/{a.contacts[1].id}", {
            "first_name": "Pat", "last_name": "Inline", "email": a.contacts[1].email, "phone": "", "inline": "1",
            "version": a.contacts[1].version}),
        "room_create": ("/rooms", {"company_id": a.company.id, "name": "Fresh Room", "product_type": "team room",
                                   "status": "trial", "slug": "fresh-room", "max_participants": "10", "pin": "1234",
                                   "end_date": "", "lobby": "1", "recording": ""}),
        "room_update": (f"/rooms/{a.team.id}", {"name": "A Team", "product_type": "team room", "status": "trial",
                                               "slug": a.team.slug, "max_participants": "12", "pin": "",
                                               "end_date": a.team.end_date.isoformat(), "version": a.team.version}),
        "room_link": (f"/rooms/{a.team.id}/hosts", {"contact_id": a.contacts[1].id}),
        "contact_link_room": (f"/contacts/{a.contacts[1].id}/rooms", {"room_id": a.team.id}),
        "change_company": (f"/contacts/{a.contacts[1].id}/change-company", {"company_id": a.company.id}),
        "roles": (f"/contacts/{a.contacts[1].id}/roles", {"owner": "1"}),
        "reseller_settings": ("/settings", {"trial_days": "14", "demo_days": "7", "brand_color": "#2f6fde",
                                            "logo_url": "https://a.example/logo.png",
                                            "embed_origins": "https://partner.example"}),
        "reseller_user": ("/settings/users", {"first_name": "New", "last_name": "Staff", "email": "new@a.example"}),
    }


FORM_NAMES = [
    "company_create", "company_update", "contact_create", "contact_update", "contact_inline_update", "room_create",
    "room_update", "room_link", "contact_link_room", "change_company", "roles", "reseller_settings", "reseller_user",
]


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("form", FORM_NAMES)
def test_every_field_of_every_form(reseller_client, world, form, bad):
    path, valid = _forms(world)[form]
    value = BAD[bad]
    for field in valid:
        if field == "version":
            continue
        resp = reseller_client.post(path, data={**valid, field: value}, htmx=True)
        assert_answered(resp, value)
        if bad == "nul" and resp.status_code in REFUSED:
            assert "<html" not in resp.get_data(as_text=True)  # htmx gets a fragment or a toast, not a page
        db.session.rollback()
        db.session.expire_all()
        # the next field is tried on the form as it is now (a save may have moved the version)
        path, valid = _forms(world)[form]
    assert_no_nul_stored()
    assert_hosting_rules()


@pytest.mark.parametrize("bad", list(BAD))
def test_every_field_of_the_host_room_settings(app, world, bad):
    host = world.a.contacts[0]  # owner of the team room
    client = app.test_client()
    AuthActions(client).login(host.email)
    room = world.a.team
    for field in ("slug", "max_participants", "pin", "lobby", "recording"):
        data = {"slug": room.slug, "max_participants": "9", "pin": "", "version": room.version, field: BAD[bad]}
        assert_answered(client.post(f"/my-rooms/{room.id}", data=data, htmx=True), BAD[bad])
        db.session.rollback()
        db.session.expire_all()
    assert_no_nul_stored()


@pytest.mark.parametrize("bad", list(BAD))
def test_every_field_of_a_new_reseller(app, world, bad):
    admin = factories.admin()
    client = app.test_client()
    AuthActions(client).login(admin.email)
    valid = {"name": "Fresh Reseller", "first_name": "First", "last_name": "User", "email": "first@fresh.example"}
    for field in valid:
        resp = client.post("/admin/resellers", data={**valid, field: BAD[bad]}, htmx=True)
        assert_answered(resp, BAD[bad])
        db.session.rollback()
    assert_no_nul_stored()


@pytest.mark.parametrize("bad", list(BAD))
def test_public_forms(client, world, bad):
    value = BAD[bad]
    for data in ({"email": value, "password": "x"}, {"email": world.a.staff.email, "password": value},
                 {"email": world.a.staff.email, "password": factories.PASSWORD, "next": value}):
        resp = client.post("/login", data=data)
        assert_answered(resp, value)
        if resp.status_code == 303:
            client.post("/logout")
    assert_answered(client.post("/forgot", data={"email": value}), value)
    # an unknown password link answers 400 ("this link is not valid"), whatever it holds
    assert client.get("/password/" + quote("tok" + value[:1000], safe="")).status_code == 400
    assert client.post("/password/unknown", data={"password": value, "password_repeat": value}).status_code == 400
    assert_no_nul_stored()


def test_a_nul_in_the_login_email_is_a_clear_422(client, world):
    resp = client.post("/login", data={"email": world.a.staff.email + "\x00", "password": factories.PASSWORD})
    assert resp.status_code == 422
    text_ = resp.get_data(as_text=True)
    assert "do not match" in text_ or "NUL" in text_


# --------------------------------------------------------------------------- search boxes and list parameters


LISTS = ["/companies", "/contacts", "/rooms"]
PARAMS = ["q", "sort", "type", "status", "state", "company", "page", "per_page"]


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("path", LISTS)
def test_search_and_list_parameters(reseller_client, world, path, bad):
    for param in PARAMS:
        for htmx in (False, True):
            resp = reseller_client.get(path, query_string={param: BAD[bad]}, htmx=htmx)
            assert resp.status_code in (200, 422), (param, resp.status_code)


# Terms of 3+ characters match anywhere; 1-2 characters match the start of a name (bounded by an index),
# so a lone wildcard finds nothing here rather than everything.
@pytest.mark.parametrize("q, expected", [("0% S", ["100% Sure"]), ("r_s", ["Under_score"]), ("O'B", ["O'Brien & Co"]),
                                         ('"Best"', ['The "Best" Ltd']), ("k\\s", ["Back\\slash"]),
                                         ("%", []), ("_", []), ("'", []), ("\\", []), ("%%", []), ("_a", [])])
def test_search_treats_wildcards_and_quotes_as_text(reseller_client, world, q, expected):
    for name in ("100% Sure", "Under_score", "O'Brien & Co", 'The "Best" Ltd', "Back\\slash", "Plain"):
        factories.company(world.a.reseller, name)
    resp = reseller_client.get("/companies", query_string={"q": q}, htmx=True)
    assert resp.status_code == 200
    page = html.unescape(resp.get_data(as_text=True))
    names = ("100% Sure", "Under_score", "O'Brien & Co", 'The "Best" Ltd', "Back\\slash", "Plain", "A Corp")
    assert [n for n in names if f">{n}<" in page] == expected


def test_a_name_whose_lower_case_is_longer_than_the_name(reseller_client, world):
    resp = reseller_client.post("/companies", data={"name": DOTTED_I, "type": "Business", "status": "prospect"},
                                htmx=True)
    assert resp.status_code == 200
    company = db.session.execute(select(Company).where(Company.name == DOTTED_I)).scalar_one()
    assert len(company.name_key) == 122
    # the same name again (any case) is refused by name, not by a database error
    resp = reseller_client.post("/companies", data={"name": DOTTED_I.lower(), "type": "Business",
                                                    "status": "prospect"}, htmx=True)
    assert resp.status_code in (200, 422)
    resp = reseller_client.post("/rooms", data={"company_id": company.id, "name": DOTTED_I,
                                                "product_type": "team room", "status": "trial"}, htmx=True)
    assert resp.status_code == 200
    room = db.session.execute(select(Room).where(Room.name == DOTTED_I)).scalar_one()
    assert room.slug  # made from a name with no ASCII letters
    assert reseller_client.get("/rooms", query_string={"q": "i̇" * 3}, htmx=True).status_code == 200


def test_no_character_lower_cases_to_more_than_two():
    import sys

    assert max(len(chr(c).lower()) for c in range(sys.maxunicode + 1)) * models.NAME_MAX <= models.NAME_KEY_MAX


# --------------------------------------------------------------------------- the embed sign-in token


def _token(secret: str, **claims) -> str:
    base = {"sub": "nobody@a.example", "exp": int(time.time()) + 120, "jti": uuid.uuid4().hex}
    return jwt.encode({**base, **claims}, secret, algorithm="HS256")


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("claim", ["sub", "jti", "path"])
@pytest.mark.parametrize("signed", [True, False])
def test_embed_token_claims(client, world, claim, bad, signed):
    secret = world.a.reseller.embed_secret if signed else "not-the-secret-of-this-reseller-at-all-0123456789"
    claims = {"sub": world.a.staff.email, claim: BAD[bad]}
    token = _token(secret, **claims)
    resp = client.get("/embed/sso", query_string={"token": token})
    assert resp.status_code in (200, 401, 403, 422), resp.status_code
    if resp.status_code == 200:  # only a fine jti signs in
        assert claim == "jti" and bad in ("dotted_i", "wildcards", "quotes")
    assert_no_nul_stored()


@pytest.mark.parametrize("bad", list(BAD))
def test_embed_token_parameter_itself(client, world, bad):
    resp = client.get("/embed/sso", query_string={"token": BAD[bad]})
    assert resp.status_code in (401, 422)

