"""Trash and undo in Chromium: a reseller deletes a company with its contacts and rooms, clicks Undo in
the toast with the mouse, deletes it again, restores it from Trash, and finds its contacts, rooms and
host links back; then its History shows the four actions with who and when."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Hosting

from .. import factories
from .conftest import login


def _company_row(page, name):
    return page.locator("#company-table tbody tr").filter(
        has=page.locator("th[scope=row]", has_text=re.compile(rf"^{re.escape(name)}$")))


def _links(company_id):
    db.session.rollback()
    return sorted(db.session.execute(select(Hosting.room_id, Hosting.contact_id, Hosting.is_owner)
                                     .where(Hosting.company_id == company_id)).all())


def _delete_company(page, name):
    row = _company_row(page, name)
    row.get_by_text("Actions", exact=True).click()  # the row's Actions menu, then Delete
    row.get_by_role("button", name="Delete").click()
    panel = page.locator("#panel")
    expect(panel).to_contain_text(re.compile(r"2 contacts and 2 rooms"))
    panel.get_by_role("button", name="Delete").click()
    expect(_company_row(page, name)).to_have_count(0)


def test_delete_undo_delete_restore_from_trash(page, live_server, world):
    a = world.a  # 2 contacts, a team room and a personal room
    factories.link(a.team, a.contacts[1])
    factories.link(a.personal, a.contacts[1])
    name, cid = a.company.name, a.company.id
    people = [c.name for c in a.contacts]
    links = _links(cid)
    assert len(links) == 3

    login(page, live_server, a.staff.email)
    page.goto(f"{live_server.url}/companies")
    _delete_company(page, name)
    toast = page.locator("#toast")
    expect(toast).to_contain_text(f"Deleted company {name}")
    undo = toast.get_by_role("button", name="Undo")
    expect(undo).to_be_visible()
    undo.click()  # a real mouse click: Playwright fails it when something else would receive it
    expect(toast).to_contain_text(f"Restored company {name}")
    expect(_company_row(page, name)).to_be_visible()  # the list refreshed itself
    assert _links(cid) == links

    _delete_company(page, name)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trash", exact=True).click()
    expect(page.get_by_role("heading", name="Trash", level=1)).to_be_visible()
    row = page.locator("#trash-rows tr").filter(has_text=name)
    expect(row).to_contain_text("2 contacts")
    expect(row).to_contain_text(a.staff.name)
    row.get_by_role("button", name="Restore").click()
    expect(toast).to_contain_text(f"Restored company {name}")
    expect(page.locator("#trash-rows")).to_contain_text("The Trash is empty.")

    page.goto(f"{live_server.url}/contacts?company={cid}")
    for c in a.contacts:  # the list reads last name first
        expect(page.locator("#contact-rows")).to_contain_text(f"{c.last_name}, {c.first_name}")
    page.goto(f"{live_server.url}/rooms/{a.team.id}/edit")
    for person in people:
        expect(page.locator("#main")).to_contain_text(person)
    assert _links(cid) == links

    # 5. its History: deleted, restored (Undo), deleted, restored (Trash), each with who and when
    page.goto(f"{live_server.url}/companies/{cid}/edit")
    page.get_by_role("link", name="History").click()
    events = page.locator("#panel #history-panel li.event")
    expect(events.first).to_be_visible()
    newest_four = [events.nth(i) for i in range(4)]
    assert [e.locator(".what").inner_text() for e in newest_four] == ["Restored", "Deleted", "Restored", "Deleted"]
    for event in newest_four:
        expect(event.locator(".who")).to_have_text(a.staff.name)
        expect(event.locator("time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    expect(newest_four[3]).to_contain_text(people[0])  # what went with the delete, by name
