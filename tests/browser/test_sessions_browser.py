"""A session that runs out while the page is open: the next htmx request lands on the login page."""
import re
import time

from playwright.sync_api import expect

from .. import factories
from .conftest import login


def test_idle_session_sends_an_htmx_request_to_the_login_page_and_back(app, page, live_server, world, monkeypatch):
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/companies")
    monkeypatch.setitem(app.config, "SESSION_IDLE_SECONDS", 0)  # any pause is now too long
    time.sleep(1.1)
    page.get_by_label("Search").press_sequentially("a c", delay=30)  # active search: an htmx request
    # 401 + HX-Redirect: htmx navigates the whole page to the login form, which says why
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_text("Your session has ended. Log in again.")).to_be_visible()
    monkeypatch.setitem(app.config, "SESSION_IDLE_SECONDS", 8 * 3600)
    page.get_by_label("Email").fill(world.a.staff.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/companies\?q=a"))
    expect(page.get_by_role("heading", name="Companies", level=1)).to_be_visible()


def test_logout_in_one_tab_ends_the_session_of_the_other_tab(page, context, live_server, world):
    login(page, live_server, world.a.staff.email)
    other = context.new_page()
    other.goto(f"{live_server.url}/companies")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    other.get_by_label("Search").press_sequentially("a", delay=30)
    expect(other).to_have_url(re.compile(r"/login\?next="))
