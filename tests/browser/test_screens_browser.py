"""Every main screen at 1280 and 390 px, light and dark: no horizontal overflow, no serious or critical axe-core
violations (axe-core is vendored in static/vendor), and a screenshot of each. Log out with the mouse.

Screenshots go to docs/screenshots/ when SCREENSHOTS=1 (`make screenshots`), else to the test's temporary folder,
so an ordinary test run leaves the work tree alone.
"""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

import models
from extensions import db

from .. import factories
from .conftest import login

AXE = "/static/vendor/axe-4.14.1.min.js"
WIDTHS = {"wide": (1280, 900), "phone": (390, 844)}
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screens(world):
    """name -> (who signs in, path, a locator that shows the screen is there)."""
    a = world.a
    return {
        "login": (None, "/login", "#login-form"),
        "companies": (a.staff, "/companies", "#company-rows"),
        "company-edit": (a.staff, f"/companies/{a.company.id}/edit", "#company-contacts"),
        "contacts": (a.staff, "/contacts", "#contact-rows"),
        "rooms": (a.staff, "/rooms", "#room-rows"),
        "room-edit": (a.staff, f"/rooms/{a.team.id}/edit", "#room-hosts"),
        "my-rooms": (a.contacts[0], "/my-rooms", "#my-rooms"),
        "settings": (a.staff, "/settings", "#reseller-form"),
        "admin-resellers": ("admin", "/admin", "#reseller-table"),
        "home": (a.staff, "/", "#home-content"),
        "trash": (a.staff, "/trash", "#trash-rows tr"),
        "activity": (a.staff, "/activity", "#activity-screen"),
        "history": (a.staff, f"/rooms/{a.team.id}/edit", "#history-panel"),
        "reports": (a.staff, "/reports/trials", "#trial-report"),
        "import": (a.staff, "/import", "#import-form"),
        "import-preview": (a.staff, "/import?kind=companies", "#import-rows tr"),
        "room-terms": (a.staff, f"/rooms?q={a.team.name}", f"#panel #room-{a.team.id}-end"),
        "rooms-bulk": (a.staff, "/rooms", "#room-bulk"),
        "account": (a.staff, "/account", "#preferences-form"),
        "admin-contacts": ("admin", "/contacts", "#contact-rows"),
        "admin-rooms": ("admin", "/rooms", "#room-rows"),
    }


def open_history(page, world):
    page.get_by_role("link", name="History").click()


def upload_a_small_csv(page, world):
    csv_bytes = "name,type,status\nNew Clinic,Healthcare,customer\nA Corp,Business,customer\n"
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "companies.csv", "mimeType": "text/csv", "buffer": csv_bytes.encode()}])
    page.get_by_role("button", name="Preview").click()


def open_extend_or_convert(page, world):
    row = page.locator(f"#room-{world.a.team.id}")
    row.get_by_text("Actions", exact=True).click()
    row.get_by_role("button", name="Extend or convert").click()


def select_two_rooms(page, world):
    for room in (world.a.team, world.a.personal):
        page.get_by_label(f"Select {room.name}", exact=True).check()


# What a screen needs after it loads: a panel opened, a file uploaded, rows selected.
STEPS = {"history": open_history, "import-preview": upload_a_small_csv, "room-terms": open_extend_or_convert,
         "rooms-bulk": select_two_rooms}


def more_data(world):
    """A few more rows, with long names and emails, so the screens show what real lists look like."""
    a = world.a
    factories.contact(a.company, first="Maximiliana", last="Longname-Richardson",
                      email="maximiliana.longname-richardson@very-long-company-domain.example")
    factories.company(a.reseller, "Government Department of Long Names", type="Government")
    factories.room(a.company, "A Demo Room", status="demo")
    models.delete_room(factories.room(a.company, "A Room in the Trash"))  # one item in the Trash
    db.session.commit()


def overflow(page):
    return page.evaluate("[document.documentElement.scrollWidth, innerWidth]")


def axe_violations(page):
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + AXE)
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').split('\\n')[1]).join(' | '));
    }""")
    return found


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("screen", ["login", "companies", "company-edit", "contacts", "rooms", "room-edit",
                                    "my-rooms", "settings", "admin-resellers", "home", "trash", "activity",
                                    "history", "reports", "import", "import-preview", "room-terms", "rooms-bulk",
                                    "account", "admin-contacts", "admin-rooms"])
def test_screen_fits_and_passes_axe_in_light_and_dark(page, live_server, world, screen, width, tmp_path):
    more_data(world)
    who, path, ready = screens(world)[screen]
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width])))
    if who == "admin":
        login(page, live_server, factories.admin().email)
    elif who is not None:
        login(page, live_server, who.email)
    folder = SHOTS if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{live_server.url}{path}")
        if screen in STEPS:
            STEPS[screen](page, world)
        expect(page.locator(ready).first).to_be_visible()
        scroll, inner = overflow(page)
        if scroll > inner:
            problems.append(f"{scheme}: the page is {scroll} px wide in a {inner} px window")
        problems += [f"{scheme}: {v}" for v in axe_violations(page)]
        page.screenshot(path=str(folder / f"{screen}-{width}-{scheme}.png"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", [1280, 1920, 390])
def test_log_out_with_the_mouse(page, live_server, world, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, world.a.staff.email)
    button = page.get_by_role("button", name="Log out")
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # Nothing lies over the button: the element at its centre is the button itself.
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).textContent.trim()", [x, y]) == "Log out"
    assert 0 <= x <= width, "Log out is off-screen"
    page.mouse.click(x, y)
    page.wait_for_url(lambda url: "/login" in url)
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_phone_menu_collapses_behind_a_disclosure_button(page, live_server, world):
    page.set_viewport_size({"width": 360, "height": 740})
    login(page, live_server, world.a.staff.email)
    nav = page.get_by_role("navigation", name="Main")
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Rooms", exact=True).click()
    expect(page.get_by_role("heading", name="Rooms", level=1)).to_be_visible()
    assert overflow(page)[0] <= 360


def test_phone_lists_are_stacked_rows_with_labels_and_whole_emails(page, live_server, world):
    more_data(world)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/contacts")
    cell = page.locator("#contact-rows td:nth-child(2)", has_text="maximiliana")
    expect(cell).to_be_visible()
    # The cell says what it is, and the email breaks at most once, never letter by letter.
    assert "Email" in cell.evaluate("e => getComputedStyle(e, '::before').content")
    lines = cell.evaluate("e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length }")
    assert lines <= 3, lines
    expect(page.locator("#contact-table thead")).not_to_be_in_viewport()
    assert overflow(page)[0] <= 390


def test_phone_panel_is_a_full_screen_sheet(page, live_server, world):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/companies")
    page.get_by_role("link", name="Add company").click()
    sheet = page.locator("#panel-dialog")
    expect(sheet.get_by_role("heading", name="Add company")).to_be_visible()
    box = sheet.bounding_box()
    assert box["x"] == 0 and box["width"] == 390 and box["height"] >= 840, box
