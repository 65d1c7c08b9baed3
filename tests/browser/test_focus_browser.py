"""Dialogs, focus and feedback: the panel is a modal <dialog>, focus returns to its opener, a new row is shown
in place with the focus, a skip link, "/" for search, Escape cancels an inline edit, toasts can be dismissed,
and the live region announces the number of results."""
import re

from playwright.sync_api import expect

from .. import factories
from .conftest import login


def open_companies(page, live_server):
    page.goto(f"{live_server.url}/companies")
    expect(page.get_by_role("heading", name="Companies", level=1)).to_be_visible()


def test_panel_is_a_modal_dialog_and_focus_returns_to_its_opener(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    open_companies(page, live_server)
    opener = page.get_by_role("link", name="Add company")
    opener.click()
    dialog = page.get_by_role("dialog", name="Add company")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.getElementById('panel-dialog').matches(':modal')")
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    # Tab stays inside the dialog.
    for _ in range(8):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('panel-dialog').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_a_new_company_is_shown_in_place_with_focus_and_a_highlight(page, live_server, world):
    for i in range(30):  # more than a page: "Zulu" sorts onto page 2
        factories.company(world.a.reseller, f"Bulk {i:02d}")
    login(page, live_server, world.a.staff.email)
    open_companies(page, live_server)
    page.get_by_role("link", name="Add company").click()
    page.get_by_role("dialog").get_by_label("Name", exact=True).fill("Zulu Works")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    row = page.locator("#company-rows tr", has_text="Zulu Works")
    expect(row).to_be_visible()
    expect(row).to_be_focused()
    expect(row).to_have_class(re.compile("just-changed"))
    expect(page.get_by_role("dialog")).to_be_hidden()


def test_skip_link_and_slash_focus_search(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    open_companies(page, live_server)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search")).to_be_focused()


def test_search_announces_the_number_of_results(page, live_server, world):
    factories.company(world.a.reseller, "Acme North")
    factories.company(world.a.reseller, "Acme South")
    login(page, live_server, world.a.staff.email)
    open_companies(page, live_server)
    page.get_by_role("searchbox", name="Search").fill("acme")
    live = page.locator("#list-status")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live).to_have_text("2 matches")


def test_escape_cancels_an_inline_row_edit(page, live_server, world):
    contact = world.a.contacts[0]
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/companies/{world.a.company.id}/edit")
    row = page.locator(f"#contact-row-{contact.id}")
    row.get_by_role("button", name="Edit").click()
    editing = page.locator(f"#contact-row-{contact.id}.editing")
    expect(editing.get_by_label("First name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(editing).to_have_count(0)
    expect(row.get_by_role("button", name="Edit")).to_be_visible()


def test_toasts_can_be_dismissed(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    open_companies(page, live_server)
    page.get_by_role("link", name="Add company").click()
    page.get_by_role("dialog").get_by_label("Name", exact=True).fill("Dismiss Co")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    toast = page.locator("#toast")
    expect(toast).to_contain_text("Added company Dismiss Co")
    toast.get_by_role("button", name="Dismiss message").click()
    expect(toast).to_be_hidden()


def test_in_a_tall_frame_the_panel_and_toast_show_where_the_user_looks(page, serve, live_server, world):
    """A 700 px partner page with the auto-height frame (docs/embedding.md), scrolled down: the panel opens and the
    toast appears in the visible part of the frame, and the partner page's scroll stays where it was."""
    from .test_embed_browser import frame_of, open_partner, sized

    for i in range(30):
        factories.company(world.a.reseller, f"Tall {i:02}")
    page.set_viewport_size({"width": 700, "height": 800})
    open_partner(page, serve, live_server.url, world)
    portal = page.frame_locator("#reseller-portal")
    expect(portal.locator("#company-table")).to_contain_text("Tall 00")
    sized(page, above=1200)
    row = portal.locator("#company-rows tr", has_text="Tall 10")
    page.evaluate("y => window.scrollTo(0, y)", row.bounding_box()["y"] - 300)  # the partner page scrolled down
    # the frame hears of the scroll (IntersectionObserver): what it sees no longer starts at its top
    frame_of(page).wait_for_function("() => parseFloat(document.documentElement.style.getPropertyValue('--dialog-top')) > 100")
    box = row.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= 800, box  # in view without scrolling
    scrolled = page.evaluate("window.scrollY")

    row.get_by_text("Actions", exact=True).click()  # the row's Actions menu, then Add room
    row.get_by_role("button", name="Add room").click()
    dialog = portal.get_by_role("dialog")
    name = dialog.get_by_label("Name", exact=True)
    expect(name).to_be_focused()
    shown = dialog.bounding_box()
    assert 0 <= shown["y"] < 800, shown
    assert page.evaluate("window.scrollY") == scrolled
    page.keyboard.type("Framed Room")
    page.keyboard.press("Enter")
    toast = portal.locator("#toast")
    expect(toast).to_contain_text("Added room Framed Room")
    # the frame's size and the observer's report of what the user sees settle after the swap: wait for them
    for _ in range(50):
        box = toast.bounding_box()  # None for a moment while the swap re-renders it
        if box and 0 <= box["y"] and box["y"] + box["height"] <= 800:
            break
        page.wait_for_timeout(100)
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= 800, box
    assert page.evaluate("window.scrollY") == scrolled


def test_my_rooms_offers_join_and_copy_link(page, context, live_server, world):
    host = world.a.contacts[0]  # Host of A Team
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(page, live_server, host.email)
    page.goto(f"{live_server.url}/my-rooms")
    row = page.locator(f"#my-room-{world.a.team.id}")
    link = row.locator("a.meeting-link").get_attribute("href")
    expect(row.get_by_role("link", name="Join")).to_have_attribute("href", link)
    row.get_by_role("button", name="Copy link").click()
    expect(page.locator("#toast")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()").endswith(link)
