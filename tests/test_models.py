"""The database itself enforces the hosting rules (SPEC §2), and the room helpers behave."""
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import models
from extensions import db
from models import Hosting, Room

from . import factories


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
