"""Property tests (Hypothesis): any text, number, unicode (NUL included) or huge value in any field of
the main forms and in any list parameter gets a success or a 4xx, never a 5xx, and afterwards the
hosting rules hold and the company counts agree with the rows. On SQLite and PostgreSQL.

Each test builds its world once (the per-test ``_clean`` fixture empties the database after it) and
runs its examples against it; the invariants are checked after every example. The number of
examples run is counted per test and printed at the end of the session ("hypothesis examples: …").
"""
from __future__ import annotations

import os
from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from extensions import db
from models import Company, Contact, ContactState, Hosting, ProductType, Room, RoomStatus, company_counts

from . import factories
from .conftest import AuthActions
from .databases import on_postgresql
from .test_bad_input import assert_no_nul_stored
from .test_races import assert_hosting_rules

EXAMPLES: Counter = Counter()
STATUSES: Counter = Counter()  # the answers seen: successes and refusals both come up
MAX_EXAMPLES = 50

SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the worktree; every run explores afresh
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)

# What werkzeug takes in a form or a query string: any code point but the surrogates (not UTF-8).
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
SPECIAL = st.sampled_from([
    "", " ", "\x00", "a\x00b", "İ" * 61, "x" * 100_000, "9" * 400, "-1", "0", "2147483648", "1e308", "NaN", "inf",
    "50%_off", "O'Brien \"Q\" `x` \\", "<script>alert(1)</script>", "\u202e\u200b\ufeff", "😀" * 200,
    "2026-02-30", "9999-12-31", "0001-01-01", "a@b.c", "x@" + "y" * 300 + ".example",
])
NUMBER = st.one_of(st.integers(min_value=-(2**80), max_value=2**80).map(str), st.floats().map(str))
HUGE = st.builds(lambda s, n: s * n, st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1,
                                             max_size=3), st.integers(min_value=1_000, max_value=40_000))
VALUE = st.one_of(TEXT, SPECIAL, NUMBER, HUGE)


@st.composite
def _fuzzed(draw, valid: dict):
    """The valid form with none, one or a few of its fields given any value (so saves succeed too)."""
    broken = draw(st.sets(st.sampled_from(sorted(valid)), max_size=3))
    return {key: draw(VALUE) if key in broken else val for key, val in valid.items()}


def _answered(resp) -> None:
    STATUSES[resp.status_code] += 1
    assert resp.status_code < 500, resp.status_code
    assert resp.status_code in (200, 204, 302, 303) or 400 <= resp.status_code < 500, resp.status_code


def assert_invariants() -> None:
    db.session.rollback()
    db.session.expire_all()
    assert_hosting_rules()
    # every hosting's contact and room belong to one company (the hosting's own)
    mixed = db.session.execute(
        select(Hosting.id)
        .join(Contact, Hosting.contact_id == Contact.id)
        .join(Room, Hosting.room_id == Room.id)
        .where((Contact.company_id != Room.company_id) | (Hosting.company_id != Room.company_id))
    ).all()
    assert not mixed, f"hostings across companies: {mixed}"
    # the counts the lists show agree with the rows
    companies = db.session.execute(select(Company.id)).scalars().all()
    counts = company_counts(companies)
    contacts = db.session.execute(select(Contact.company_id, Contact.state)).all()
    rooms = db.session.execute(select(Room.company_id, Room.status, Room.end_date, Room.suspended)).all()
    today = date.today()
    for cid in companies:
        mine = [c for c in contacts if c.company_id == cid]
        theirs = [r for r in rooms if r.company_id == cid]
        expected = {
            "contacts": len(mine),
            "live_contacts": sum(c.state == ContactState.LIVE for c in mine),
            "rooms": len(theirs),
            "live_rooms": sum(not r.suspended and (r.status == RoomStatus.PAID or (r.end_date and r.end_date >= today))
                              for r in theirs),
        }
        assert counts[cid] == expected, (cid, counts[cid], expected)
    assert_no_nul_stored()
    db.session.rollback()


def _after(name: str) -> None:
    EXAMPLES[name] += 1
    assert_invariants()


@pytest.fixture(scope="module", autouse=True)
def _report_examples(request):
    yield
    database = "postgresql" if on_postgresql() else "sqlite"
    detail = ", ".join(f"{name} {n}" for name, n in sorted(EXAMPLES.items()))
    answers = ", ".join(f"{code}: {n}" for code, n in sorted(STATUSES.items()))
    line = f"hypothesis examples on {database}: {sum(EXAMPLES.values())} ({detail}); answers {answers}"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")
    if os.environ.get("HYPOTHESIS_EXAMPLES_FILE"):  # kept for a report: one line per run
        with open(os.environ["HYPOTHESIS_EXAMPLES_FILE"], "a", encoding="utf-8") as out:
            out.write(line + "\n")


# --------------------------------------------------------------------------- the world


@pytest.fixture
def w(world):
    """The shared world plus a second company of reseller A (to move a contact to) and a personal room's Host."""
    world.a2 = factories.company(world.a.reseller, "A Second")
    factories.link(world.a.personal, world.a.contacts[1])
    return world


def _forms(w) -> dict:
    a = w.a
    db.session.rollback()
    db.session.expire_all()
    team, person = a.team, a.contacts[1]
    return {
        "company_create": ("/companies", {"name": "Fresh Co", "type": "Business", "status": "prospect",
                                          "branded": "1"}),
        "company_update": (f"/companies/{a.company.id}", {"name": "A Corp", "type": "Business",
                                                          "status": "customer", "branded": "",
                                                          "version": a.company.version}),
        "contact_create": ("/contacts", {"company_id": a.company.id, "first_name": "Fresh", "last_name": "Person",
                                         "email": "fresh@a.example", "phone": "0123 456"}),
        "contact_update": (f"/contacts/{person.id}", {"first_name": "Pat", "last_name": "Edited",
                                                      "email": person.email, "phone": "", "state": "live",
                                                      "version": person.version}),
        "room_create": ("/rooms", {"company_id": a.company.id, "name": "Fresh Room", "product_type": "team room",
                                   "status": "trial", "slug": "fresh-room", "max_participants": "10", "pin": "1234",
                                   "end_date": "", "lobby": "1", "recording": ""}),
        "room_update": (f"/rooms/{team.id}", {"name": "A Team", "product_type": "team room", "status": "trial",
                                              "slug": team.slug, "max_participants": "12", "pin": "",
                                              "end_date": team.end_date.isoformat() if team.end_date else "",
                                              "suspended": "", "version": team.version}),
        "room_link": (f"/rooms/{team.id}/hosts", {"contact_id": person.id}),
        "contact_link_room": (f"/contacts/{person.id}/rooms", {"room_id": a.personal.id}),
        "change_company": (f"/contacts/{person.id}/change-company", {"company_id": w.a2.id}),
        "reseller_settings": ("/settings", {"trial_days": "14", "demo_days": "7", "brand_color": "#2f6fde",
                                            "logo_url": "https://a.example/logo.png",
                                            "embed_origins": "https://partner.example"}),
        "room_extend": (f"/rooms/{team.id}/extend", {"days": "7", "end_date": "", "reason": "asked for more"}),
        "room_convert": (f"/rooms/{team.id}/convert", {"reason": "signed"}),
        "rooms_bulk": ("/rooms/bulk", {"action": "extend", "ids": str(team.id), "days": "3", "reason": "",
                                       "q": "", "all": ""}),
        "account_preferences": ("/account", {"locale": "en-GB", "time_zone": "Europe/London"}),
    }


FORMS = ["company_create", "company_update", "contact_create", "contact_update", "room_create", "room_update",
         "room_link", "contact_link_room", "change_company", "reseller_settings", "room_extend", "room_convert",
         "rooms_bulk", "account_preferences"]


@pytest.mark.parametrize("form", FORMS)
def test_any_value_in_any_field_of_a_form(reseller_client, w, form):
    path, valid = _forms(w)[form]

    @SETTINGS
    @given(data=st.data())
    def run(data):
        path, valid = _forms(w)[form]
        fields = data.draw(_fuzzed(valid))
        htmx = data.draw(st.booleans())
        _answered(reseller_client.post(path, data=fields, htmx=htmx))
        _after(form)

    run()


def test_any_value_in_the_host_room_settings(app, w):
    host = w.a.contacts[0]  # the owner of the team room
    client = app.test_client()
    AuthActions(client).login(host.email)

    @SETTINGS
    @given(data=st.data())
    def run(data):
        db.session.rollback()
        db.session.expire_all()
        room = w.a.team
        valid = {"slug": room.slug, "max_participants": "9", "pin": "", "lobby": "1", "recording": "",
                 "version": room.version}
        _answered(client.post(f"/my-rooms/{room.id}", data=data.draw(_fuzzed(valid)), htmx=data.draw(st.booleans())))
        _after("room_settings")

    run()


def test_any_value_at_login_and_forgot(app, w):
    client = app.test_client()

    @SETTINGS
    @given(data=st.data())
    def run(data):
        login = data.draw(_fuzzed({"email": w.a.staff.email, "password": factories.PASSWORD, "next": "/companies"}))
        resp = client.post("/login", data=login)
        _answered(resp)
        if resp.status_code in (302, 303):
            _answered(client.post("/logout"))
        _answered(client.post("/forgot", data=data.draw(_fuzzed({"email": w.a.contacts[0].email}))))
        _after("login_forgot")

    run()


LIST_PARAMS = {
    "/companies": ["q", "sort", "type", "status", "rooms", "page", "per_page", "after", "before", "show"],
    "/contacts": ["q", "sort", "state", "company", "page", "per_page", "after", "before", "show"],
    "/rooms": ["q", "sort", "type", "status", "company", "ends", "from", "to", "started", "converted", "page",
               "per_page", "after", "before", "show"],
    "/reports/trials": ["company", "from", "to"],
    "/trash": ["page"],
    "/contacts/check-email": ["email", "contact_id"],
    "/rooms/check-slug": ["slug", "room_id"],
    "/companies/check-name": ["name", "company_id"],
}


@pytest.mark.parametrize("path", list(LIST_PARAMS))
def test_any_list_parameter(reseller_client, w, path):
    sorts = st.sampled_from(["name", "-name", "email", "company", "-company", "contacts", "-rooms", "status", "end",
                             "-end", ""])

    @SETTINGS
    @given(params=st.fixed_dictionaries({}, optional={p: st.one_of(VALUE, sorts) for p in LIST_PARAMS[path]}),
           htmx=st.booleans())
    def run(params, htmx):
        resp = reseller_client.get(path, query_string=params, htmx=htmx)
        _answered(resp)
        _after(f"list {path}")

    run()
