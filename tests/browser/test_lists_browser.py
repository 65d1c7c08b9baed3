"""The Companies, Contacts and Rooms lists and their panels, as a demanding user drives them:
Back/Forward and refresh after search, filter and sort; tidy URLs; panel focus and Escape;
visible error toasts; tables that fit a narrow window.
"""
import re

import pytest
from playwright.sync_api import expect

import models
from extensions import db

from .. import factories
from .conftest import assert_no_reload, login, mark_window


def names(page, table):
    return page.locator(f"#{table} tbody th[scope=row]")


def assert_tidy(page):
    """No empty parameters (type=&status=) in the address bar."""
    assert not re.search(r"=(&|$)", page.url), page.url


def assert_full_page(page, heading):
    expect(page.locator("header.top")).to_have_count(1)
    expect(page.get_by_role("heading", name=heading, level=1)).to_have_count(1)


def test_companies_state_survives_search_filter_sort_back_and_refresh(page, live_server, world):
    r = world.a.reseller
    factories.company(r, "Alpine Clinics", type="Healthcare")
    factories.company(r, "Alpine Dental", type="Healthcare")
    factories.company(r, "Alpine School", type="Education")
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/companies")
    mark_window(page)

    search = page.get_by_label("Search")
    search.press_sequentially("alp", delay=30)
    expect(page).to_have_url(re.compile(r"\?q=alp&sort=name$"))
    page.get_by_label("Type", exact=True).select_option("Healthcare")
    expect(names(page, "company-table")).to_have_text(["Alpine Clinics", "Alpine Dental"])
    assert_tidy(page)

    page.locator("#company-table thead th").get_by_role("link", name=re.compile("^Name")).click()
    expect(names(page, "company-table")).to_have_text(["Alpine Dental", "Alpine Clinics"])
    expect(page.locator("#company-table th").first).to_have_attribute("aria-sort", "descending")

    # Typing after sorting keeps the sort (and the filter).
    search.press("End")
    search.press_sequentially("ine", delay=30)
    expect(page).to_have_url(re.compile(r"q=alpine"))
    assert "sort=-name" in page.url and "type=Healthcare" in page.url
    assert_tidy(page)
    expect(names(page, "company-table")).to_have_text(["Alpine Dental", "Alpine Clinics"])
    assert_no_reload(page)

    # Typing replaced the sorted entry (a search replaces the history entry, a sort or filter pushes
    # one). Back: the filtered view before the sort, as a whole page (htmx re-requests it: no history cache).
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=alp&"))
    assert "sort=name" in page.url and "type=Healthcare" in page.url
    assert_full_page(page, "Companies")
    expect(page.get_by_label("Search")).to_have_value("alp")
    expect(page.get_by_label("Type", exact=True)).to_have_value("Healthcare")
    expect(names(page, "company-table")).to_have_text(["Alpine Clinics", "Alpine Dental"])

    # Back again: before the filter; the search for "alp" had replaced the first entry.
    page.go_back()
    expect(names(page, "company-table")).to_have_text(["Alpine Clinics", "Alpine Dental", "Alpine School"])
    expect(page.get_by_label("Search")).to_have_value("alp")
    assert_full_page(page, "Companies")

    # Forward twice and refresh show the same view; a shared link does too.
    page.go_forward()
    page.go_forward()
    expect(page).to_have_url(re.compile(r"q=alpine"))
    expect(names(page, "company-table")).to_have_text(["Alpine Dental", "Alpine Clinics"])
    shared = page.url
    page.reload()
    expect(names(page, "company-table")).to_have_text(["Alpine Dental", "Alpine Clinics"])
    page.goto(shared)
    assert_full_page(page, "Companies")
    expect(page.get_by_label("Search")).to_have_value("alpine")
    expect(names(page, "company-table")).to_have_text(["Alpine Dental", "Alpine Clinics"])


@pytest.mark.parametrize("path, name, typed, expected", [
    ("/companies", "company", "birch", ["Birchwood Academy", "Birchwood Clinic"]),
    ("/contacts", "contact", "birch", ["Birchwood, Bea", "Birchwood, Bo"]),  # last name first, as sorted
    ("/rooms", "room", "birch", ["Birchwood Huddle", "Birchwood Standup"]),
])
def test_search_as_you_type_replaces_history_and_cancels_stale_requests(page, live_server, world, path, name, typed,
                                                                        expected):
    """Each keystroke may start a search; a newer one cancels the request in flight (hx-sync this:replace)
    and the search replaces the history entry, so Back leaves the list instead of undoing letters."""
    r, company = world.a.reseller, world.a.company
    factories.company(r, "Birchwood Academy")
    factories.company(r, "Birchwood Clinic")
    factories.contact(company, first="Bea", last="Birchwood")
    factories.contact(company, first="Bo", last="Birchwood")
    factories.room(company, "Birchwood Huddle")
    factories.room(company, "Birchwood Standup")
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}{path}")
    mark_window(page)
    before = page.evaluate("history.length")
    requests = []
    page.on("request", lambda req: requests.append(req.url) if "q=" in req.url else None)
    search = page.get_by_label("Search")
    search.press_sequentially(typed, delay=60)  # quicker than the 250 ms delay: at most a few requests
    expect(page).to_have_url(re.compile(rf"\?q={typed}&sort=name$"))
    expect(page.locator(f"#{name}-rows th[scope=row]")).to_have_text(expected)
    assert page.evaluate("history.length") == before
    search.press_sequentially("x", delay=0)  # no match: the rows say so, and still no new entry
    expect(page.locator(f"#{name}-rows")).to_contain_text("match")
    search.press("Backspace")
    expect(page.locator(f"#{name}-rows th[scope=row]")).to_have_text(expected)
    assert page.evaluate("history.length") == before
    assert 1 <= len(requests) < len(typed) + 2
    assert_no_reload(page)


def test_next_and_previous_pages_swap_rows_and_push_history(page, live_server, world):
    for i in range(30):
        factories.company(world.a.reseller, f"Paged {i:02}")
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/companies?q=paged")
    mark_window(page)
    rows = names(page, "company-table")
    expect(rows).to_have_count(25)
    expect(rows.first).to_have_text("Paged 00")
    with page.expect_response(lambda resp: "page=2" in resp.url) as answer:
        page.locator("#company-pager").get_by_role("link", name="Next").click()
    # the rows came gzip-compressed (compression.py: no secret in them), and Chromium read them as ever
    assert answer.value.all_headers().get("content-encoding") == "gzip"
    expect(rows).to_have_count(5)
    expect(rows.first).to_have_text("Paged 25")
    expect(page).to_have_url(re.compile(r"page=2"))
    page.locator("#company-pager").get_by_role("link", name="Previous").click()
    expect(rows.first).to_have_text("Paged 00")
    page.go_back()
    expect(rows.first).to_have_text("Paged 25")
    # Without a search: keyset pages (after=id:value in the URL), in the order of the sorted column.
    page.goto(f"{live_server.url}/companies?sort=name")
    mark_window(page)
    expect(rows).to_have_count(25)
    expect(rows.nth(1)).to_have_text("Paged 00")
    page.locator("#company-pager").get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"after=\d+"))
    expect(rows.first).to_have_text("Paged 24")
    expect(rows).to_contain_text(["Paged 24", "Paged 25", "Paged 26", "Paged 27", "Paged 28", "Paged 29"])
    page.locator("#company-pager").get_by_role("link", name="Previous").click()
    expect(page).to_have_url(re.compile(r"before=\d+"))
    expect(rows.nth(1)).to_have_text("Paged 00")
    assert_no_reload(page)


@pytest.mark.parametrize("path", ["/companies", "/contacts", "/rooms"])
def test_enter_in_search_box_does_not_reload(page, live_server, world, path):
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}{path}")
    mark_window(page)
    search = page.get_by_label("Search")
    search.fill("A")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=A&sort=name$"))
    page.wait_for_timeout(300)  # a plain form submit would land now
    assert_no_reload(page)
    assert_tidy(page)


@pytest.mark.parametrize("path, table, heading, filter_label, value", [
    ("/rooms", "room-table", "Rooms", "Status", "trial"),
    ("/contacts", "contact-table", "Contacts", "State", "live"),
])
def test_list_filter_after_sort_keeps_sort(page, live_server, world, path, table, heading, filter_label, value):
    company = world.a.company
    factories.room(company, "Zulu Room", status="trial")
    factories.contact(company, first="Zed", last="Zulu")
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}{path}")
    mark_window(page)

    page.locator(f"#{table} th").get_by_role("link", name=re.compile("^Name")).click()
    expect(page).to_have_url(re.compile(r"sort=-name"))
    first = names(page, table).first
    expect(first).to_contain_text("Zulu")
    page.get_by_label(filter_label, exact=True).select_option(value)
    expect(page).to_have_url(re.compile(rf"{filter_label.lower()}={value}"))
    assert "sort=-name" in page.url
    assert_tidy(page)
    expect(first).to_contain_text("Zulu")
    assert_no_reload(page)

    page.go_back()
    assert_full_page(page, heading)
    expect(page.get_by_label(filter_label, exact=True)).to_have_value("")
    expect(first).to_contain_text("Zulu")


def test_panel_focuses_first_field_and_closes(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/companies")
    mark_window(page)
    panel = page.locator("#panel")

    page.get_by_role("link", name="Add company").click()
    expect(panel.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()

    page.get_by_role("link", name="Add company").click()
    panel.get_by_label("Name", exact=True).fill(world.a.company.name.lower())
    panel.get_by_role("button", name="Save").click()
    expect(panel.locator("#company-name-error")).to_be_visible()
    expect(panel.get_by_label("Name", exact=True)).to_be_focused()
    panel.get_by_role("link", name="Cancel").click()
    expect(panel).to_be_hidden()

    # After a successful save no empty panel box stays behind.
    page.get_by_role("link", name="Add company").click()
    panel.get_by_label("Name", exact=True).fill("Panel Works")
    panel.get_by_role("button", name="Save").click()
    expect(page.locator("#toast")).to_contain_text("Added company Panel Works")
    expect(panel).to_be_hidden()

    # A confirm without fields starts on its Cancel.
    row = page.locator("#company-table tr", has_text="Panel Works")
    row.get_by_text("Actions", exact=True).click()
    row.get_by_role("button", name="Delete").click()
    expect(panel.get_by_role("link", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert_no_reload(page)


def test_inline_contact_edit_starts_on_first_field(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/companies/{world.a.company.id}/edit")
    contact = world.a.contacts[0]
    page.locator(f"#contact-row-{contact.id}").get_by_role("button", name="Edit").click()
    row = page.locator(f"#contact-row-{contact.id}.editing")
    expect(row.get_by_label("First name")).to_be_focused()
    row.get_by_label("Email").fill("not an email")
    row.get_by_label("Email").evaluate("e => e.type = 'text'")  # past the browser's own check
    row.get_by_role("button", name="Save").click()
    expect(row.locator(f"#contact-{contact.id}-email-error")).to_be_visible()
    expect(row.get_by_label("Email")).to_be_focused()
    # The label sits above its field, like every other field.
    label, field = row.locator(f"label[for=contact-{contact.id}-email]").bounding_box(), row.get_by_label("Email").bounding_box()
    assert label["y"] + label["height"] <= field["y"] + 1


def test_not_found_toast_is_visible_and_announced(page, live_server, world):
    room = world.a.team
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/rooms/{room.id}/edit")
    expect(page.locator("#room-hosts")).to_contain_text(world.a.contacts[0].name)
    models.delete_room(room)  # someone else deletes it meanwhile
    db.session.commit()

    page.once("dialog", lambda d: d.accept())
    page.locator("#room-hosts").get_by_role("button", name="Unlink").first.click()
    toast = page.locator("#toast")
    expect(toast).to_have_attribute("aria-live", "polite")
    expect(toast.get_by_role("alert")).to_have_text(re.compile("nothing here"))
    expect(toast).to_be_visible()
    expect(toast).to_have_css("opacity", "1")
    colours = toast.evaluate("e => [getComputedStyle(e).backgroundColor, getComputedStyle(e.firstElementChild).color]")
    assert colours[0] != colours[1]


@pytest.mark.parametrize("path", ["/companies", "/contacts", "/rooms", "company-edit", "room-edit"])
def test_screens_fit_800px_without_wrapped_buttons(page, live_server, world, path):
    company = world.a.company
    factories.contact(company, first="Maximiliana", last="Longname-Richardson",
                      email="maximiliana.longname-richardson@very-long-company-domain.example")
    factories.company(world.a.reseller, "Government Department of Long Names", type="Government")
    login(page, live_server, world.a.staff.email)
    page.set_viewport_size({"width": 800, "height": 900})
    path = {"company-edit": f"/companies/{company.id}/edit", "room-edit": f"/rooms/{world.a.team.id}/edit"}.get(path, path)
    page.goto(f"{live_server.url}{path}")
    expect(page.locator("main table").first).to_be_visible()
    sizes = page.evaluate("""() => ({
        page: [document.documentElement.scrollWidth, innerWidth],
        tables: [...document.querySelectorAll('main table')].map(t => [t.getBoundingClientRect().right, innerWidth]),
        dates: [...document.querySelectorAll('main .date')].map(e => e.getClientRects().length),
        buttons: [...document.querySelectorAll('main button, main .button')].filter(b => b.offsetParent)
                   .map(b => [b.textContent.trim(), b.offsetHeight]),
    })""")
    assert sizes["page"][0] <= sizes["page"][1], sizes["page"]
    assert all(right <= width for right, width in sizes["tables"]), sizes["tables"]
    assert all(n == 1 for n in sizes["dates"]), "a date broke over two lines"
    single_line = min(h for _, h in sizes["buttons"])
    assert all(h < single_line * 1.5 for _, h in sizes["buttons"]), sizes["buttons"]
