"""The keyboard-only journey, no mouse: log in, open Companies from the menu, search a company, open it, add a contact, add a room, link the
contact as Host, log out, with at most 6 key presses between two steps.

Counted: every key that moves the focus or acts (Tab, Shift+Tab, Enter, Escape, the arrows, "/"). Not counted:
what the user types into a field (keyboard.type), the Tab from one field of a form to the next and the Enter
that submits it: they belong to the step itself, and are counted separately (``fill``).
"""
import re

from playwright.sync_api import expect

from .. import factories

MAX_BETWEEN_STEPS = 6


class Keys:
    def __init__(self, page):
        self.page = page
        self.count = 0

    def press(self, key, times=1):
        for _ in range(times):
            self.page.keyboard.press(key)
            self.count += 1

    def step(self, name):
        """End of the way to a step: no more than MAX_BETWEEN_STEPS presses since the last one."""
        assert self.count <= MAX_BETWEEN_STEPS, f"{self.count} key presses to reach '{name}'"
        self.count = 0

    def fill(self, *values, submit=True):
        """Type into the focused field, Tab to the next, …; Enter submits (part of the step, not counted)."""
        for i, value in enumerate(values):
            if i:
                self.page.keyboard.press("Tab")
            if value:
                self.page.keyboard.type(value)
        if submit:
            self.page.keyboard.press("Enter")


def focused(page):
    return page.evaluate("document.activeElement.textContent.trim() || document.activeElement.name || document.activeElement.id")


def test_keyboard_only_journey(page, live_server, world):
    company = world.a.company
    for i in range(3):
        factories.company(world.a.reseller, f"Other {i}")
    keys = Keys(page)

    # 1. Log in: the email field has the focus.
    page.goto(f"{live_server.url}/login")
    keys.step("log in")
    expect(page.get_by_label("Email")).to_be_focused()
    keys.fill(world.a.staff.email, factories.PASSWORD)
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()  # resellers land on Home

    # 1b. Open Companies from the menu: skip link, brand, Home, Companies.
    keys.press("Tab", 4)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies")).to_be_focused()
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Companies", level=1)).to_be_visible()
    keys.step("open Companies")
    page.wait_for_load_state()  # portal.js (deferred) listens for the keys from here on

    # 2. Search a company: "/" focuses the search.
    keys.press("/")
    keys.step("search a company")
    expect(page.get_by_role("searchbox", name="Search")).to_be_focused()
    keys.fill(company.name, submit=False)
    expect(page.locator("#company-rows tr")).to_have_count(1)
    expect(page.locator("#list-status")).to_have_text("1 match")

    # 3. Open it: Arrow down to its row, Enter.
    keys.press("ArrowDown")
    expect(page.locator("#company-rows th[scope=row] a", has_text=company.name)).to_be_focused()
    keys.press("Enter")
    expect(page.get_by_role("heading", name=f"Edit company {company.name}")).to_be_visible()
    keys.step("open the company")

    # 4. Add a contact: skip link, then the page's actions come first.
    keys.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    keys.press("Enter")
    page.wait_for_function("location.hash === '#main'")  # the skip link has moved the starting point (a busy machine)
    keys.press("Tab", 2)
    expect(page.get_by_role("link", name="Add contact")).to_be_focused()
    keys.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("First name")).to_be_focused()
    keys.step("add a contact")
    keys.fill("Katherine", "Johnson", "katherine@journey.example")
    expect(page.locator("#toast")).to_contain_text("Added contact Katherine Johnson")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="Add contact")).to_be_focused()

    # 5. Add a room: the next action.
    keys.press("Tab")
    keys.press("Enter")
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    keys.step("add a room")
    keys.fill("Keyboard Room")
    expect(page.locator("#toast")).to_contain_text("Added room Keyboard Room")

    # 6. Link the contact as Host: the panel goes on with the new room's Hosts, on the contact picker.
    picker = dialog.get_by_label("Link contact")
    expect(picker).to_be_focused()
    keys.step("link the contact as Host")
    page.keyboard.type("Katherine")  # typing in a focused select chooses the first option that starts so
    expect(picker.locator("option:checked")).to_have_text(re.compile("^Katherine Johnson"))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(dialog.locator("#room-hosts")).to_contain_text("Katherine Johnson")
    expect(page.locator("#toast")).to_contain_text(re.compile("Linked Katherine Johnson"))

    # 7. Log out: Escape closes the panel (focus back on Add room), Log out is just before the content.
    keys.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="Add room")).to_be_focused()
    keys.press("Shift+Tab", 3)
    expect(page.get_by_role("button", name="Log out")).to_be_focused()
    keys.press("Enter")
    keys.step("log out")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
