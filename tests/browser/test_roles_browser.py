"""Roles in Chromium: what a reseller does shows up on the Host's My rooms."""
import re

from playwright.sync_api import expect

from .. import factories
from .conftest import TIMEOUT_MS, assert_no_reload, login, mark_window


def my_room_names(page):
    return page.locator("#my-rooms td.name")


def test_unlinked_room_leaves_the_hosts_my_rooms(page, browser, live_server, world):
    host, team, personal = world.a.contacts[0], world.a.team, world.a.personal
    factories.link(personal, host)

    # The Host sees both rooms on My rooms, where they land after logging in.
    login(page, live_server, host.email)
    expect(page).to_have_url(re.compile(r"/my-rooms$"))
    expect(page.get_by_role("heading", name="My rooms", level=1)).to_be_visible()
    expect(my_room_names(page).filter(has_text="A Team")).to_have_count(1)
    expect(my_room_names(page).filter(has_text="A Personal")).to_have_count(1)

    # The reseller, in their own browser session, unlinks the Host from the team room.
    reseller_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    reseller_ctx.set_default_timeout(TIMEOUT_MS)
    try:
        rpage = reseller_ctx.new_page()
        login(rpage, live_server, world.a.staff.email)
        rpage.goto(f"{live_server.url}/rooms/{team.id}/edit")
        mark_window(rpage)
        rpage.once("dialog", lambda dialog: dialog.accept())
        host_row = rpage.locator(f"#host-{host.id}")
        host_row.get_by_role("button", name="Unlink").click()
        expect(host_row).to_have_count(0)
        expect(rpage.locator("#toast")).to_contain_text(re.compile("Unlinked", re.I))
        assert_no_reload(rpage)
    finally:
        reseller_ctx.close()

    # The Host's My rooms no longer lists it; the personal room stays.
    page.reload()
    expect(my_room_names(page).filter(has_text="A Personal")).to_have_count(1)
    expect(my_room_names(page).filter(has_text="A Team")).to_have_count(0)
    expect(page.get_by_text(f"/meet/{team.slug}")).to_have_count(0)


def test_view_as_hides_edit_controls_and_its_refusal_toast_goes(page, live_server, world):
    owner = factories.owner(world.a.company)
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/contacts")
    expect(page.get_by_role("link", name="Add contact").first).to_be_visible()
    page.evaluate("""id => fetch('/view-as/' + id, {method: 'POST', headers: {'X-CSRFToken':
        JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']}})""", owner.id)
    page.goto(f"{live_server.url}/contacts")
    expect(page.locator(".view-as-banner")).to_be_visible()
    expect(page.locator("main a.button.primary")).to_have_count(1)
    expect(page.locator("main a.button.primary")).to_be_hidden()
    expect(page.locator("#contact-rows details.menu").first).to_be_hidden()
    expect(page.locator("#contact-rows tr").first).to_be_visible()  # what the user sees stays
    # a write sent anyway is refused with a toast that goes by itself
    page.evaluate("id => htmx.ajax('POST', '/rooms/' + id, {target: '#toast', values: {name: 'x'}})", world.a.team.id)
    toast = page.locator("#toast")
    expect(toast).to_contain_text("read-only")
    expect(toast).to_be_hidden(timeout=TIMEOUT_MS + 8000)
