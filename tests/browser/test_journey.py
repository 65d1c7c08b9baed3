"""Issue 2's journey in Chromium: what a reseller sees, step by step.

Each step is its own test on fresh data (tests/factories.py); the page is marked
on window before the step's actions, and the marker must survive: every action
swaps a fragment, none reloads the page.
"""
import re

from playwright.sync_api import expect

from .. import factories
from .conftest import assert_no_reload, login, mark_window


def open_companies(page, live_server):
    page.goto(f"{live_server.url}/companies")
    expect(page.get_by_role("heading", name="Companies", level=1)).to_be_visible()


def company_row(page, name):
    return page.locator("#company-table tbody tr").filter(has=page.locator("th[scope=row]", has_text=re.compile(rf"^{re.escape(name)}$")))


def test_journey_1_log_in_and_add_company(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies", exact=True).click()
    expect(page.get_by_role("heading", name="Companies", level=1)).to_be_visible()
    mark_window(page)

    page.get_by_role("link", name="Add company").click()
    panel = page.locator("#panel")
    expect(panel.get_by_role("heading", name="Add company")).to_be_visible()
    panel.get_by_label("Name", exact=True).fill("Journey Learning")
    panel.get_by_label("Type", exact=True).select_option("Education")
    panel.get_by_label("Customer status", exact=True).select_option("customer")
    panel.get_by_role("button", name="Save").click()

    row = company_row(page, "Journey Learning")
    expect(row).to_be_visible()
    # the name is the row header (th scope=row), so the cells start with the type
    expect(row.get_by_role("cell").nth(0)).to_have_text("Education")
    expect(row.get_by_role("cell").nth(1)).to_have_text("customer")
    expect(page.locator("#toast")).to_contain_text("Added company Journey Learning")
    expect(panel.get_by_role("heading", name="Add company")).to_have_count(0)
    assert_no_reload(page)


def test_journey_1_add_company_duplicate_name_is_explained(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    open_companies(page, live_server)
    mark_window(page)
    page.get_by_role("link", name="Add company").click()
    panel = page.locator("#panel")
    panel.get_by_label("Name", exact=True).fill(world.a.company.name.upper())
    panel.get_by_role("button", name="Save").click()

    name = panel.get_by_label("Name", exact=True)
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(panel.locator("#company-name-error")).to_contain_text(re.compile("already", re.I))
    assert_no_reload(page)


def row_action(row, name):
    """A list row's action: its Actions menu opens, then the button."""
    row.get_by_text("Actions", exact=True).click()
    row.get_by_role("button", name=name).click()


def live_count(row, kind):
    """The live contacts or live rooms count in a company row (a link to the filtered list)."""
    return row.locator(f"a[data-count={kind}]")


def test_journey_2_add_contact_and_room_from_company_row(page, live_server, world):
    company = world.a.company  # 2 live contacts, 2 live rooms
    login(page, live_server, world.a.staff.email)
    open_companies(page, live_server)
    row = company_row(page, company.name)
    expect(live_count(row, "contacts")).to_have_text("2")
    expect(live_count(row, "rooms")).to_have_text("2")
    mark_window(page)

    row_action(row, "Add contact")
    panel = page.locator("#panel")
    expect(panel.get_by_role("heading", name=f"Add contact to {company.name}")).to_be_visible()
    panel.get_by_label("First name", exact=True).fill("Rosalind")
    panel.get_by_label("Last name", exact=True).fill("Franklin")
    panel.get_by_label("Email", exact=True).fill("rosalind@journey.example")
    panel.get_by_role("button", name="Save").click()
    expect(page.locator("#toast")).to_contain_text("Added contact Rosalind Franklin")
    expect(live_count(row, "contacts")).to_have_text("3")
    expect(live_count(row, "rooms")).to_have_text("2")
    expect(panel.get_by_role("heading", name=re.compile("^Add contact"))).to_have_count(0)

    row_action(row, "Add room")
    expect(panel.get_by_role("heading", name="Add room")).to_be_visible()
    expect(panel).to_contain_text(f"Company: {company.name}")
    panel.get_by_label("Name", exact=True).fill("Journey Boardroom")
    panel.get_by_label("Product type", exact=True).select_option("team room")
    panel.get_by_label("Status", exact=True).select_option("trial")
    panel.get_by_role("button", name="Save").click()
    expect(page.locator("#toast")).to_contain_text("Added room Journey Boardroom")
    expect(live_count(row, "rooms")).to_have_text("3")
    expect(live_count(row, "contacts")).to_have_text("3")
    assert_no_reload(page)

    # A count opens the list filtered to that company, where the new ones are.
    live_count(row, "rooms").click()
    expect(page.get_by_role("heading", name=f"Rooms of {company.name}", level=1)).to_be_visible()
    expect(page.locator("#room-table")).to_contain_text("Journey Boardroom")


def test_journey_3_search_as_you_type(page, live_server, world):
    factories.company(world.a.reseller, "Alpine Clinics", type="Healthcare")
    factories.company(world.a.reseller, "Birchwood School", type="Education")
    login(page, live_server, world.a.staff.email)
    open_companies(page, live_server)
    expect(company_row(page, "Birchwood School")).to_be_visible()
    mark_window(page)

    page.get_by_label("Search").press_sequentially("alp", delay=40)

    expect(page).to_have_url(re.compile(r"[?&]q=alp(&|$)"))
    expect(company_row(page, "Alpine Clinics")).to_be_visible()
    expect(company_row(page, "Birchwood School")).to_have_count(0)
    expect(company_row(page, world.a.company.name)).to_have_count(0)
    assert_no_reload(page)

    # The state is in the URL: a refresh shows the same view as a full page.
    page.reload()
    expect(page.get_by_label("Search")).to_have_value("alp")
    expect(company_row(page, "Alpine Clinics")).to_be_visible()
    expect(company_row(page, "Birchwood School")).to_have_count(0)


def test_journey_6_delete_company_after_seeing_impact(page, live_server, world):
    doomed = world.a.company  # 2 contacts, a team room and a personal room
    login(page, live_server, world.a.staff.email)
    open_companies(page, live_server)
    mark_window(page)

    row_action(company_row(page, doomed.name), "Delete")
    panel = page.locator("#panel")
    expect(panel.get_by_role("heading", name=f"Delete company {doomed.name}?")).to_be_visible()
    expect(panel).to_contain_text(re.compile(r"deletes .*2 contacts and 2 rooms", re.I))
    expect(company_row(page, doomed.name)).to_be_visible()  # nothing gone before confirming

    panel.get_by_role("button", name="Delete").click()
    expect(company_row(page, doomed.name)).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text(f"Deleted company {doomed.name}")
    expect(panel.get_by_role("heading", name=re.compile("^Delete company"))).to_have_count(0)
    assert_no_reload(page)


def open_room(page, live_server, room_name):
    """Rooms in the main navigation, then the room's Edit link: the Edit room screen."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rooms", exact=True).click()
    expect(page.get_by_role("heading", name="Rooms", level=1)).to_be_visible()
    row = page.locator("#room-table tbody tr").filter(has=page.get_by_role("link", name=room_name, exact=True))
    row.get_by_role("link", name=room_name, exact=True).click()  # the name opens Edit room
    expect(page.get_by_role("heading", name=f"Edit room {room_name}", level=1)).to_be_visible()


def host_row(page, name):
    return page.locator("#room-hosts tbody tr").filter(has=page.locator("td.name", has_text=re.compile(rf"^{re.escape(name)}$")))


def harbour(world):
    company = factories.company(world.a.reseller, "Harbour Labs")
    ada = factories.contact(company, first="Ada", last="Lovelace", email="ada@harbour.example")
    grace = factories.contact(company, first="Grace", last="Hopper", email="grace@harbour.example")
    return company, ada, grace


def test_journey_4_link_two_hosts_to_team_room_and_see_owner(page, live_server, world):
    company, ada, grace = harbour(world)
    factories.room(company, "Harbour Team", "team room", "trial")
    login(page, live_server, world.a.staff.email)
    open_room(page, live_server, "Harbour Team")
    mark_window(page)
    hosts = page.locator("#room-hosts")
    link_contact = hosts.get_by_label("Link contact")

    link_contact.select_option(label="Ada Lovelace (ada@harbour.example)")
    hosts.get_by_role("button", name="Link contact").click()
    expect(page.locator("#toast")).to_contain_text("Linked Ada Lovelace to Harbour Team")
    expect(host_row(page, "Ada Lovelace")).to_contain_text("Owner")  # the first Host becomes the owner

    # Only contacts of this company who are not linked yet are offered.
    expect(link_contact.locator("option", has_text="Ada Lovelace")).to_have_count(0)
    expect(link_contact.locator("option", has_text=world.a.contacts[0].name)).to_have_count(0)
    link_contact.select_option(label="Grace Hopper (grace@harbour.example)")
    hosts.get_by_role("button", name="Link contact").click()
    expect(page.locator("#toast")).to_contain_text("Linked Grace Hopper to Harbour Team")

    ada_row, grace_row = host_row(page, "Ada Lovelace"), host_row(page, "Grace Hopper")
    expect(ada_row.locator(".owner")).to_have_text("Owner")
    expect(grace_row).not_to_contain_text("Owner")
    expect(grace_row.get_by_role("button", name="Make owner")).to_be_visible()
    expect(ada_row.get_by_role("button", name="Make owner")).to_have_count(0)
    expect(page.locator("#room-hosts .owner")).to_have_count(1)

    # The owner can be reassigned: exactly one owner, now Grace.
    grace_row.get_by_role("button", name="Make owner").click()
    expect(grace_row.locator(".owner")).to_have_text("Owner")
    expect(ada_row).not_to_contain_text("Owner")
    expect(page.locator("#room-hosts .owner")).to_have_count(1)
    assert_no_reload(page)


def test_journey_5_personal_room_with_its_host_offers_no_second(page, live_server, world):
    """Once a personal room has its Host, the picker gives way to the reason (the refusal of a second Host
    posted anyway is proved over HTTP in tests/test_rooms.py)."""
    company, ada, grace = harbour(world)
    factories.room(company, "Ada's Room", "personal room", "paid subscriber")
    login(page, live_server, world.a.staff.email)
    open_room(page, live_server, "Ada's Room")
    mark_window(page)
    hosts = page.locator("#room-hosts")

    hosts.get_by_label("Link contact").select_option(label="Ada Lovelace (ada@harbour.example)")
    hosts.get_by_role("button", name="Link contact").click()
    expect(host_row(page, "Ada Lovelace")).to_be_visible()
    expect(hosts).to_contain_text("This personal room has its Host")
    expect(hosts.get_by_label("Link contact")).to_have_count(0)
    expect(hosts.get_by_role("button", name="Link contact")).to_have_count(0)
    expect(page.locator("#room-hosts tbody tr")).to_have_count(1)
    assert_no_reload(page)

    page.reload()
    expect(host_row(page, "Ada Lovelace")).to_be_visible()
    expect(page.locator("#room-hosts")).to_contain_text("This personal room has its Host")
