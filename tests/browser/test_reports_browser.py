"""The free-trial report in Chromium: reached from the menu, its chart drawn without a script (and without a
CSP violation), and a filter that updates the report in place and in the URL."""
import re

from playwright.sync_api import expect

from .. import factories
from .conftest import assert_no_reload, login, mark_window


def test_report_from_the_menu_and_filter_in_place(page, live_server, world):
    other = factories.company(world.a.reseller, "Trial Co")
    factories.room(other, "Trial Room", status="demo")
    login(page, live_server, world.a.staff.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Free-trial report", level=1)).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Trials started and converted per month"))).to_be_visible()
    expect(page.locator('[data-total="started"]')).to_have_text("2")  # A Team and Trial Room
    mark_window(page)
    page.get_by_label("Company").select_option(label="Trial Co")
    expect(page.locator('[data-total="started"]')).to_have_text("1")
    expect(page).to_have_url(re.compile(rf"company={other.id}"))
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute("href", re.compile(rf"trials\.csv\?company={other.id}"))
    assert_no_reload(page)
    page.reload()
    expect(page.locator('[data-total="started"]')).to_have_text("1")
