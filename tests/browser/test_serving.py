"""The browser fixtures themselves, and what they make possible: another origin framing the portal."""
import re

from playwright.sync_api import expect

from .conftest import login


def test_login_wrong_password_is_explained(page, live_server, world):
    page.goto(f"{live_server.url}/companies")
    expect(page).to_have_url(re.compile(r"/login\?next=/companies"))  # asked to log in first
    page.get_by_label("Email").fill(world.a.staff.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-password-error")).to_have_text("That email and password do not match an account.")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    login(page, live_server, world.a.staff.email)
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()  # resellers land on Home


def test_portal_pages_refuse_to_be_framed_by_another_origin(page, live_server, serve):
    partner = serve(f'<!doctype html><title>Partner</title><h1>Partner site</h1>'
                    f'<iframe title="Portal" src="{live_server.url}/login"></iframe>', host="localhost")
    assert partner.url.startswith("http://localhost:") and partner.url != live_server.url
    with page.expect_event("console", lambda m: "frame-ancestors" in m.text):
        page.goto(partner.url)
    expect(page.get_by_role("heading", name="Partner site")).to_be_visible()
    expect(page.frame_locator('iframe[title="Portal"]').get_by_role("button", name="Log in")).to_have_count(0)
