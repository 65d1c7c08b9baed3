"""CSV in and out in Chromium: upload a file, see the dry-run preview, confirm it, all in place; and the
list's Export CSV link follows the search as it is typed."""
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from extensions import db
from models import Company

from .. import factories
from .conftest import assert_no_reload, login, mark_window


def test_upload_preview_confirm(page, live_server, world):
    factories.company(world.a.reseller, "Existing Ltd", type="Education", status="prospect")
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/companies")
    page.get_by_role("link", name="Import CSV").click()
    expect(page.get_by_label("The file holds")).to_have_value("companies")
    mark_window(page)
    csv_bytes = "name,type,status\nNew Clinic,Healthcare,customer\nExisting Ltd,Education,customer\nCafé Zoë,Business,prospect\n"
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "companies.csv", "mimeType": "text/csv", "buffer": csv_bytes.encode("latin-1")}])
    page.get_by_label("Encoding").select_option("latin-1")
    page.get_by_role("button", name="Preview").click()
    rows = page.locator("#import-rows tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("New Clinic")
    expect(rows.nth(0)).to_contain_text("create")
    expect(rows.nth(1)).to_contain_text("update")
    expect(rows.nth(1)).to_contain_text("status: prospect → customer")
    expect(rows.nth(2)).to_contain_text("Café Zoë")
    assert db.session.execute(select(Company).where(Company.name == "New Clinic")).first() is None  # a dry run
    db.session.rollback()
    page.get_by_role("button", name="Confirm import").click()
    expect(page.locator("#import-done")).to_have_text("Imported companies: 2 created, 1 updated, 0 unchanged.")
    expect(page.get_by_role("button", name="Confirm import")).to_have_count(0)
    assert_no_reload(page)
    names = set(db.session.execute(select(Company.name).where(Company.reseller_id == world.a.reseller.id)).scalars())
    db.session.rollback()
    assert {"New Clinic", "Café Zoë", "Existing Ltd"} <= names


def test_a_bad_file_is_refused_next_to_the_field(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/import?kind=contacts")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": b"emial,first_name,last_name,company\n"}])
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-file-error")).to_contain_text("column “emial” is not known (did you mean “email”?)")
    expect(page.get_by_label("CSV file")).to_have_attribute("aria-invalid", "true")


def test_export_link_follows_the_search(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/rooms")
    link = page.get_by_role("link", name="Export CSV")
    expect(link).to_have_attribute("href", "/rooms/export.csv?sort=name")
    page.get_by_label("Search").press_sequentially("team", delay=30)
    expect(page.locator("#room-rows tr")).to_have_count(1)
    expect(link).to_have_attribute("href", re.compile(r"^/rooms/export\.csv\?q=team&sort=name$"))
    page.get_by_label("Status").select_option("trial")
    expect(link).to_have_attribute("href", re.compile(r"status=trial"))
    with page.expect_download() as download:
        link.click()
    path = download.value.path()
    data = open(path, "rb").read()
    assert data.startswith(b"\xef\xbb\xbf") and b"A Team" in data and b"A Personal" not in data


# Records each progress line as the parser adds it, and whether the result was on the page yet. The page
# streams: its first progress line is sent before the import's first row runs, the result only after the last.
RECORD_PROGRESS = """
window.importTicks = [];
new MutationObserver(records => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType === 1 && node.classList.contains('import-tick')) {
        window.importTicks.push({node, resultShown: document.getElementById('import-done') !== null});
      }
    }
  }
}).observe(document, {childList: true, subtree: true});
"""


def test_a_large_import_shows_its_progress_then_the_result(page, live_server, world):
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/import?kind=companies")
    csv_text = "name,type\n" + "".join(f"Large Co {i:04},Healthcare\n" for i in range(1, 1001))
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "companies.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}])
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-summary")).to_contain_text("1000 to create", timeout=60_000)
    page.add_init_script(RECORD_PROGRESS)
    page.get_by_role("button", name="Confirm import").click()
    expect(page.get_by_role("heading", name="Importing 1,000 rows of companies")).to_be_visible()
    expect(page.locator("#import-done")).to_have_text("Imported companies: 1000 created, 0 updated, 0 unchanged.",
                                                      timeout=30_000)
    # only the latest progress line shows: a full bar
    bar = page.locator(".import-tick:visible")
    expect(bar).to_have_count(1)
    expect(bar).to_contain_text("Imported 1,000 of 1,000 rows…")
    expect(bar.locator("progress")).to_have_attribute("value", "1000")
    ticks = page.evaluate("importTicks.map(t => [Number(t.node.querySelector('progress').value), t.resultShown])")
    assert [value for value, _ in ticks] == [0, 200, 400, 600, 800, 1000]
    assert not ticks[0][1], "the progress was on the page before the result"
    page.get_by_role("link", name="Show the companies").click()
    expect(page).to_have_url(f"{live_server.url}/companies")
    count = db.session.execute(select(func.count()).select_from(Company).where(Company.name.like("Large Co %")))
    assert count.scalar_one() == 1000
    db.session.rollback()
