"""History and Activity in Chromium: edit a room, open its History in the side panel, filter /activity."""
import re

from playwright.sync_api import expect

from .conftest import assert_no_reload, login, mark_window


def test_edit_a_room_then_see_the_change_in_its_history(page, live_server, world):
    staff, room = world.a.staff, world.a.team
    login(page, live_server, staff.email)
    page.goto(f"{live_server.url}/rooms/{room.id}/edit")
    mark_window(page)
    page.locator("#room-name").fill("A Team Renamed")
    page.locator("#room-max_participants").fill("40")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#toast")).to_contain_text("Saved room A Team Renamed")

    page.get_by_role("link", name="History").click()
    panel = page.locator("#panel #history-panel")
    expect(panel).to_be_visible()
    newest = panel.locator("li.event").first
    expect(newest.locator(".what")).to_have_text("Edited")
    expect(newest.locator(".who")).to_have_text(staff.name)
    expect(newest.locator("time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    expect(newest.locator(".changes")).to_contain_text("name: A Team → A Team Renamed")
    expect(newest.locator(".changes")).to_contain_text("max participants: 25 → 40")
    expect(panel.locator("li.event").last.locator(".what")).to_have_text("Created")
    assert_no_reload(page)

    page.get_by_role("link", name="Close").click()
    expect(page.locator("#history-panel")).to_have_count(0)


def test_filter_the_activity(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity").click()
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()
    expect(page.locator("li.event .summary").filter(has_text="Created company A Corp")).to_have_count(1)
    mark_window(page)

    page.get_by_label("What").select_option(label="Linked a Host")
    page.get_by_label("Object type").select_option(label="Room")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=link"))
    events = page.locator("li.event")
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text(f"Linked {world.a.contacts[0].name} to A Team")
    assert_no_reload(page)

    page.get_by_label("Who").fill("nobody at all")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#activity-screen")).to_contain_text("No changes recorded that match")
    expect(page).to_have_url(re.compile(r"who=nobody"))

    page.reload()  # the filters live in the URL
    expect(page.get_by_label("Who")).to_have_value("nobody at all")
    expect(page.get_by_label("What")).to_have_value("link")
