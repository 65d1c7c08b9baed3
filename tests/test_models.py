"""The database itself enforces the hosting rules, and the room helpers behave.

Every test here runs twice: on a schema built by ``db.create_all()`` and on one built by
``flask db upgrade``, so the CHECK constraints, keys and partial indexes are tested as migrated.
"""
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import models
from extensions import db
from models import Hosting, Room

from . import factories
from .conftest import PortalClient
from .databases import SCHEMA_KINDS, app_on_fresh_schema


@pytest.fixture(scope="module", params=SCHEMA_KINDS)
def app(request, tmp_path_factory):
    """Overrides conftest's app: a fresh database per schema kind, built once; _clean empties it after each test."""
    with app_on_fresh_schema(request.param, tmp_path_factory.mktemp(request.param), PortalClient) as app:
        yield app


def hosting(room, contact, is_owner=False, company_id=None):
    """A Hosting row written directly, skipping the rules in models.link."""
    return Hosting(
        reseller_id=room.reseller_id,
        company_id=company_id if company_id is not None else room.company_id,
        room_id=room.id,
        contact_id=contact.id,
        room_type=room.product_type,
        is_owner=is_owner,
    )


def insert_refused(row):
    db.session.add(row)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_a_second_owner(world):
    team = world.a.team  # contacts[0] is its owner
    insert_refused(hosting(team, world.a.contacts[1], is_owner=True))
    rows = db.session.execute(select(Hosting.contact_id, Hosting.is_owner).where(Hosting.room_id == team.id)).all()
    assert [tuple(r) for r in rows] == [(world.a.contacts[0].id, True)]


def test_database_allows_more_hosts_without_ownership(world):
    team = world.a.team
    db.session.add(hosting(team, world.a.contacts[1]))
    db.session.commit()
    assert len(db.session.execute(select(Hosting).where(Hosting.room_id == team.id)).all()) == 2


def test_database_refuses_a_second_personal_host(world):
    personal = world.a.personal
    db.session.add(hosting(personal, world.a.contacts[0], is_owner=True))
    db.session.commit()
    insert_refused(hosting(personal, world.a.contacts[1]))
    assert db.session.execute(select(Hosting.contact_id).where(Hosting.room_id == personal.id)).scalars().all() == [
        world.a.contacts[0].id
    ]


def test_database_refuses_a_host_from_another_company(world):
    other = factories.company(world.a.reseller, "Other Co")
    stranger = factories.contact(other)
    # claiming the room's company for a contact of another company breaks the contact's key
    insert_refused(hosting(world.a.team, stranger))
    # claiming the contact's company breaks the room's key
    insert_refused(hosting(world.a.team, stranger, company_id=other.id))


def test_database_refuses_a_wrong_room_type_copy(world):
    row = hosting(world.a.personal, world.a.contacts[1])
    row.room_type = "team room"  # would dodge the one-personal-host index
    insert_refused(row)


def test_database_refuses_linking_twice(world):
    insert_refused(hosting(world.a.team, world.a.contacts[0]))


def test_database_refuses_a_demo_room_without_end_date(world):
    room = factories.room(world.a.company, "Dated", status="demo")
    room.end_date = None
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_changing_room_type_follows_into_hosting(world):
    team = world.a.team  # one Host
    models.update_room(team, {"name": team.name, "product_type": "personal room", "status": team.status})
    db.session.commit()
    row = db.session.execute(select(Hosting).where(Hosting.room_id == team.id)).scalar_one()
    assert (row.room_type, row.is_owner) == ("personal room", True)
    # and the database now refuses a second Host of it
    insert_refused(hosting(team, world.a.contacts[1]))


@pytest.mark.parametrize("days, label, soon", [
    (12, "12 days left", False),
    (7, "7 days left", True),
    (1, "1 day left", True),
    (0, "ends today", True),
    (-1, "ended", False),
])
def test_room_days_left_label(world, days, label, soon):
    room = world.a.team
    room.end_date = models.today() + timedelta(days=days)
    assert (room.days_left, room.days_left_label, room.expiring_soon) == (days, label, soon)
    assert room.is_live is (days >= 0)


def test_paid_room_has_no_days_left(world):
    room = world.a.personal
    assert (room.days_left, room.days_left_label, room.expiring_soon, room.is_live) == (None, "", False, True)


def test_unique_slug_and_slugify(world):
    assert models.slugify("Ça va? Board  Room!") == "ca-va-board-room"
    assert models.slugify("!!!") == "room"
    assert models.unique_slug("a-team") == "a-team-2"
    factories.room(world.a.company, "Again", slug="a-team-2")
    assert models.unique_slug("a-team") == "a-team-3"
    assert models.unique_slug("fresh") == "fresh"


def test_delete_room_removes_its_hosting(world):
    team = world.a.team
    factories.link(team, world.a.contacts[1])
    impact = models.delete_room(team)
    db.session.commit()
    assert impact == {"hosts": 2}
    assert db.session.execute(select(Hosting).where(Hosting.room_id == team.id)).first() is None
    assert db.session.execute(select(Room).where(Room.id == team.id)).first() is None


# ---------------------------------------------------------------- every constraint, through Core
#
# Core inserts skip the model layer and its rules: only the database stands in the way. Each case
# first inserts a valid row of the table (rolled back: the row is fine), then the same row with one
# change, which the database must refuse with the named constraint (PostgreSQL names it; SQLite
# names CHECKs and the columns of a unique key, and says only "FOREIGN KEY" for a foreign key).

_n = count(1)


def valid_row(table, ids):
    """A row of ``table`` that breaks nothing: its unique values are new."""
    n = next(_n)
    tenant = {"reseller_id": ids.get("reseller"), "company_id": ids.get("company")}
    rows = {
        "resellers": lambda: {"name": f"Core reseller {n}"},
        "companies": lambda: {"reseller_id": ids["reseller"], "name": f"Core Co {n}", "name_key": f"core co {n}",
                              "type": "Business", "status": "customer", "version": 1},
        "contacts": lambda: {**tenant, "first_name": "Core", "last_name": f"Contact {n}",
                             "email": f"core{n}@core.example", "version": 1},
        "rooms": lambda: {**tenant, "name": f"Core Room {n}", "name_key": f"core room {n}", "product_type": "team room",
                          "status": "trial", "end_date": models.today(), "slug": f"core-room-{n}", "version": 1},
        "hostings": lambda: {**tenant, "room_id": ids["team"], "contact_id": ids["contact1"], "room_type": "team room",
                             "is_owner": False},
        "outbox": lambda: {"recipients": "x@core.example", "subject": "s", "body_text": "t", "body_html": "h",
                           "dedupe_key": f"core-{n}"},
        "password_tokens": lambda: {"contact_id": ids["contact0"], "token_hash": f"{n:064d}", "purpose": "reset",
                                    "expires_at": models.utcnow()},
    }
    return rows[table]()


def _check(name):
    return name, f"CHECK constraint failed: {name}"


def _personal_host(world):
    factories.link(world.a.personal, world.a.contacts[0])


# id, table, change (from the known ids), (PostgreSQL names, SQLite says), given (run first)
CONSTRAINT_CASES = [
    ("trial_days", "resellers", lambda i: {"trial_days": 0}, _check("ck_resellers_trial_days_range"), None),
    ("demo_days", "resellers", lambda i: {"demo_days": 366}, _check("ck_resellers_demo_days_range"), None),
    ("reseller name", "resellers", lambda i: {"name": "Reseller A"},
     ("uq_resellers_name", "UNIQUE constraint failed: resellers.name"), None),
    ("company type", "companies", lambda i: {"type": "Spaceship"}, _check("ck_companies_type_known"), None),
    ("company type case", "companies", lambda i: {"type": "business"}, _check("ck_companies_type_known"), None),
    ("company status", "companies", lambda i: {"status": "lead"}, _check("ck_companies_status_known"), None),
    ("company name empty", "companies", lambda i: {"name": ""}, _check("ck_companies_name_length"), None),
    ("company name_key", "companies", lambda i: {"name": "A CORP", "name_key": "a corp"},
     ("uq_companies_reseller_id_name_key", "UNIQUE constraint failed: companies.reseller_id, companies.name_key"),
     None),
    ("contact state", "contacts", lambda i: {"state": "asleep"}, _check("ck_contacts_state_known"), None),
    ("contact without company", "contacts", lambda i: {"company_id": None, "role_names": "owner"},
     _check("ck_contacts_company_unless_admin"), None),
    ("contact without reseller", "contacts", lambda i: {"reseller_id": None, "company_id": None, "role_names": "reseller"},
     _check("ck_contacts_company_unless_admin"), None),
    ("contact email", "contacts", lambda i: {"email": i["email0"]},
     ("uq_contacts_email", "UNIQUE constraint failed: contacts.email"), None),
    ("room product_type", "rooms", lambda i: {"product_type": "hall"}, _check("ck_rooms_product_type_known"), None),
    ("room status", "rooms", lambda i: {"status": "gold"}, _check("ck_rooms_status_known"), None),
    ("room end_date", "rooms", lambda i: {"status": "demo", "end_date": None}, _check("ck_rooms_end_date_unless_paid"),
     None),
    ("room too few", "rooms", lambda i: {"max_participants": 1}, _check("ck_rooms_max_participants_range"), None),
    ("room too many", "rooms", lambda i: {"max_participants": 1001}, _check("ck_rooms_max_participants_range"), None),
    ("room name empty", "rooms", lambda i: {"name": ""}, _check("ck_rooms_name_length"), None),
    ("room slug", "rooms", lambda i: {"slug": "a-team"}, ("uq_rooms_slug", "UNIQUE constraint failed: rooms.slug"), None),
    ("linked twice", "hostings", lambda i: {"contact_id": i["contact0"]},
     ("uq_hostings_room_id_contact_id", "UNIQUE constraint failed: hostings.room_id, hostings.contact_id"), None),
    ("second owner", "hostings", lambda i: {"is_owner": True},
     ("uq_hostings_one_owner", "UNIQUE constraint failed: hostings.room_id"), None),
    ("second personal host", "hostings", lambda i: {"room_id": i["personal"], "room_type": "personal room"},
     ("uq_hostings_one_personal_host", "UNIQUE constraint failed: hostings.room_id"), _personal_host),
    ("contact of another company", "hostings", lambda i: {"contact_id": i["stranger"]},
     ("fk_hostings_contact_same_company", "FOREIGN KEY constraint failed"), None),
    ("room of another company", "hostings", lambda i: {"contact_id": i["stranger"], "company_id": i["other"]},
     ("fk_hostings_room_same_company", "FOREIGN KEY constraint failed"), None),
    ("wrong room_type copy", "hostings", lambda i: {"room_id": i["personal"]},
     ("fk_hostings_room_same_company", "FOREIGN KEY constraint failed"), None),
    ("outbox dedupe_key", "outbox", lambda i: {"dedupe_key": "taken"},
     ("uq_outbox_dedupe_key", "UNIQUE constraint failed: outbox.dedupe_key"), None),
    ("token_hash", "password_tokens", lambda i: {"token_hash": "0" * 64},
     ("uq_password_tokens_token_hash", "UNIQUE constraint failed: password_tokens.token_hash"), None),
]


@pytest.fixture
def known(world):
    other = factories.company(world.a.reseller, "Other Co")
    stranger = factories.contact(other)
    a = world.a
    with db.engine.begin() as conn:  # the values the unique cases collide with
        conn.execute(db.metadata.tables["outbox"].insert(), valid_row("outbox", {}) | {"dedupe_key": "taken"})
        conn.execute(db.metadata.tables["password_tokens"].insert(),
                     valid_row("password_tokens", {"contact0": a.contacts[0].id}) | {"token_hash": "0" * 64})
    return {"reseller": a.reseller.id, "company": a.company.id, "contact0": a.contacts[0].id,
            "contact1": a.contacts[1].id, "email0": a.contacts[0].email, "team": a.team.id,
            "personal": a.personal.id, "other": other.id, "stranger": stranger.id}


@pytest.mark.parametrize("table, change, refusal, given", [c[1:] for c in CONSTRAINT_CASES],
                         ids=[c[0] for c in CONSTRAINT_CASES])
def test_core_insert_breaking_a_constraint_is_refused(world, known, table, change, refusal, given):
    if given:
        given(world)
    db.session.remove()
    target = db.metadata.tables[table]
    with db.engine.connect() as conn:  # the unchanged row is fine
        with conn.begin() as tx:
            conn.execute(target.insert(), valid_row(table, known))
            tx.rollback()
    with pytest.raises(IntegrityError) as refused:
        with db.engine.begin() as conn:
            conn.execute(target.insert(), valid_row(table, known) | change(known))
    postgresql_names, sqlite_says = refusal
    assert (postgresql_names if db.engine.dialect.name == "postgresql" else sqlite_says) in str(refused.value.orig)


# --------------------------------------------------------------------------- roles, terms and conflicts


def test_an_owner_cannot_be_moved_into_the_resellers_own_company(world):
    owner = factories.owner(world.a.company)
    own = world.a.reseller.own_company
    with pytest.raises(models.RuleError, match="Owner role is for contacts of a customer company"):
        models.change_company(owner, own)
    db.session.rollback()
    assert db.session.get(models.Contact, owner.id).company_id == world.a.company.id
    # as a Host they may move; the Owner role cannot be given there afterwards either
    models.set_roles(owner, set())
    models.change_company(owner, own)
    db.session.commit()
    with pytest.raises(models.RuleError, match="Owner role is for a contact of a customer company"):
        models.set_roles(owner, {"owner"})
    db.session.rollback()


def test_move_of_an_owner_to_the_reseller_company_is_refused_on_screen(reseller_client, world):
    owner = factories.owner(world.a.company)
    own = world.a.reseller.own_company
    shown = reseller_client.get(f"/contacts/{owner.id}/change-company", query_string={"company_id": own.id}, htmx=True)
    assert shown.status_code == 200 and "make them a Host again first" in shown.text
    resp = reseller_client.post(f"/contacts/{owner.id}/change-company", data={"company_id": own.id}, htmx=True)
    assert resp.status_code == 422 and "make them a Host again first" in resp.text
    db.session.expire_all()
    moved = db.session.get(models.Contact, owner.id)
    assert moved.company_id == world.a.company.id and moved.has_role("owner")


def test_give_personal_room_by_an_owner_starts_a_trial(app, world):
    from .conftest import AuthActions

    paid = factories.room(world.a.company, "Paid Team", status="paid subscriber")
    c0, c1 = world.a.contacts
    factories.link(paid, c0)
    factories.link(paid, c1)
    owner = factories.owner(world.a.company)
    client = app.test_client()
    AuthActions(client).login(owner.email)
    screen = client.get(f"/rooms/{paid.id}/edit").get_data(as_text=True)
    assert f"Create a personal room for {c1.name} (trial)" in screen  # the confirmation says what it makes
    resp = client.post(f"/rooms/{paid.id}/hosts/{c1.id}/personal-room", htmx=True)
    assert resp.status_code == 200
    personal = db.session.execute(select(Room).where(Room.name == f"{c1.name}'s room")).scalar_one()
    trial_end = models.today() + timedelta(days=world.a.reseller.trial_days)
    assert (personal.status, personal.end_date, personal.suspended) == ("trial", trial_end, False)


def test_give_personal_room_keeps_the_terms_only_for_who_may_set_them(world):
    demo = factories.room(world.a.company, "Demo Team", status="demo", end_date=(models.today() + timedelta(days=3)).isoformat())
    c0, c1 = world.a.contacts
    factories.link(demo, c0)
    factories.link(demo, c1)
    kept = models.give_personal_room(demo, c0, may_set_terms=True)
    assert (kept.status, kept.end_date) == ("demo", demo.end_date)
    fresh = models.give_personal_room(demo, c1)  # the safe default: a new trial
    assert (fresh.status, fresh.end_date) == ("trial", models.today() + timedelta(days=world.a.reseller.trial_days))


def test_edit_without_version_is_refused(world):
    company = world.a.company
    with pytest.raises(models.RuleError, match="no version") as refused:
        models.check_version(company, None)
    assert refused.value.status == 409
    with pytest.raises(models.RuleError) as refused:
        models.check_version(company, "abc")
    assert refused.value.status == 409


def test_explain_names_the_field_of_a_unique_key(world):
    db.session.add(models.Contact(company_id=world.a.company.id, reseller_id=world.a.reseller.id, first_name="X",
                                  last_name="Y", email=world.a.contacts[0].email, role_names=""))
    with pytest.raises(IntegrityError) as raised:
        db.session.flush()
    db.session.rollback()
    err = models.explain(raised.value)
    assert (err.field, err.status) == ("email", 422) and err.message == models.conflicts.EMAIL_REFUSED


def test_a_guarded_write_turns_a_taken_slug_into_a_422_and_rolls_back(world):
    factories.room(world.a.company, "Board", slug="board")
    other = factories.room(world.a.company, "Other", slug="other")
    other.slug = "board"  # as if the check before the write had passed in a race

    @models.guarded
    def write():
        pass  # the pending change is flushed on the way out

    with pytest.raises(models.RuleError) as refused:
        write()
    assert (refused.value.field, refused.value.status) == ("slug", 422) and "cannot be used" in refused.value.message
    assert db.session.get(Room, other.id).slug == "other"  # rolled back: the session reads again at once


def test_lock_answers_404_for_a_row_deleted_meanwhile(world):
    room = world.a.personal
    db.session.execute(Room.__table__.delete().where(Room.id == room.id))
    with pytest.raises(models.RuleError) as gone:
        models.lock(room)
    assert gone.value.status == 404 and "deleted by someone else" in gone.value.message
    db.session.rollback()


def test_explain_a_busy_database_is_409_and_a_real_fault_is_none():
    from sqlalchemy.exc import OperationalError

    locked = OperationalError("UPDATE rooms", {}, Exception("database is locked"))
    assert models.explain(locked).status == 409
    assert models.explain(OperationalError("SELECT 1", {}, Exception("no such table: rooms"))) is None
    assert models.explain(ValueError("not a database error")) is None


def test_sqlite_writers_wait_for_the_lock(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]
