"""Trial lifecycle in Chromium: Extend on Home and a bulk Convert on the rooms list, answered in place."""
import re
from datetime import timedelta

from playwright.sync_api import expect

import models
from extensions import db

from .. import factories
from .conftest import assert_no_reload, login, mark_window


def _room_ending_in(company, name, days):
    room = factories.room(company, name)
    room.end_date = models.today() + timedelta(days=days)
    db.session.commit()
    return room


def test_extend_on_home_changes_days_left_in_place(page, live_server, world):
    room = _room_ending_in(world.a.company, "Ends Soon", 3)
    login(page, live_server, world.a.staff.email)
    expect(page).to_have_url(re.compile(r"/$"))  # resellers land on Home
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()
    end = page.locator(f"#room-{room.id}-end")
    expect(end).to_contain_text("(3 days left)")
    mark_window(page)
    page.get_by_role("button", name="Extend 7 days for Ends Soon").click()
    expect(end).to_contain_text("(10 days left)")
    expect(end).to_contain_text((models.today() + timedelta(days=10)).isoformat())
    expect(page.locator("#toast")).to_contain_text("Extended Ends Soon")
    assert_no_reload(page)
    db.session.expire_all()
    assert db.session.get(models.Room, room.id).end_date == models.today() + timedelta(days=10)


def test_select_three_rooms_and_convert_them_in_one_action(page, live_server, world):
    rooms = [_room_ending_in(world.a.company, f"Bulk {i}", 5) for i in range(3)]
    _room_ending_in(world.a.company, "Bulk untouched", 5)
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/rooms?q=Bulk")
    mark_window(page)
    for room in rooms:
        page.get_by_label(f"Select {room.name}", exact=True).check()
    page.get_by_label("Bulk action").select_option("convert")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("#room-bulk-result")).to_contain_text("Converted 3 rooms.")
    for room in rooms:  # the rows refresh in place: paid, no end date
        expect(page.locator(f"#room-{room.id} td").nth(3)).to_have_text("paid subscriber")
        expect(page.locator(f"#room-{room.id} td").nth(5)).to_have_text("none")
    expect(page.locator("tr", has_text="Bulk untouched").locator("td").nth(3)).to_have_text("trial")
    assert_no_reload(page)
    db.session.expire_all()
    assert {db.session.get(models.Room, r.id).status for r in rooms} == {"paid subscriber"}


def test_extend_from_the_rooms_list_updates_its_row_in_place(page, live_server, world):
    room = _room_ending_in(world.a.company, "Row Room", 2)
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/rooms?q=Row")
    mark_window(page)
    end_cell = page.locator(f"#room-{room.id} td").nth(5)  # select, (name is the row's th), company, ... end date
    expect(end_cell).to_contain_text("(2 days left)")
    row = page.locator(f"#room-{room.id}")
    row.get_by_text("Actions", exact=True).click()  # the row's Actions menu
    row.get_by_role("button", name="Extend or convert").click()
    panel = page.locator("#panel")
    panel.locator("summary").click()  # "More": a number of days, a date, a reason
    panel.get_by_label("Extend by (days)").fill("5")
    panel.get_by_role("button", name="Extend", exact=True).click()
    expect(end_cell).to_contain_text("(7 days left)")  # the row, refreshed in place
    expect(panel.locator(f"#room-{room.id}-end")).to_contain_text("(7 days left)")
    panel.locator("summary").click()  # the answer closed "More"
    panel.get_by_label("or to the date").fill("2020-01-01")  # a past date: refused next to the field
    panel.get_by_role("button", name="Extend", exact=True).click()
    expect(panel.locator(f"#room-{room.id}-end-date-error")).to_contain_text("is in the past")
    expect(end_cell).to_contain_text("(7 days left)")
    assert_no_reload(page)
