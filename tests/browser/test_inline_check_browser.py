"""Inline checks in Chromium: typing a taken email shows the save's refusal next to the field, without Save."""
from playwright.sync_api import expect

from models import Contact
from extensions import db

from .conftest import assert_no_reload, login, mark_window


def test_type_a_taken_email_and_see_the_message_without_saving(page, live_server, world):
    own = world.a.contacts[0]
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/contacts/new?company_id={world.a.company.id}")
    mark_window(page)
    before = db.session.query(Contact).count()
    email = page.locator("#contact-email")
    email.click()
    email.press_sequentially(own.email)
    error = page.locator("#contact-email-error")
    expect(error).to_contain_text(f"already in use by {own.name}")
    expect(page.locator("#contact-email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#contact-email")).to_be_focused()
    # a free address clears the message as the user goes on typing
    page.locator("#contact-email").press("End")
    page.locator("#contact-email").press_sequentially(".new")
    expect(error).to_have_count(0)
    expect(page.locator("#contact-email")).to_have_value(own.email + ".new")
    assert db.session.query(Contact).count() == before
    assert_no_reload(page)


def test_the_check_coming_back_leaves_the_focus_in_the_next_field(page, live_server, world):
    """Type a taken email and go on to Phone before its check answers: the message appears next to Email and the
    focus stays in Phone, with everything typed there (the check's answer must not pull the focus back)."""
    own = world.a.contacts[0]
    login(page, live_server, world.a.staff.email)
    page.goto(f"{live_server.url}/contacts/new?company_id={world.a.company.id}")
    email, phone = page.locator("#contact-email"), page.get_by_label("Phone", exact=True)
    email.click()
    email.press_sequentially(own.email)
    page.keyboard.press("Tab")  # on to Phone at once: the check waits 400 ms after the last keystroke
    expect(phone).to_be_focused()
    page.keyboard.type("+31 20")
    expect(page.locator("#contact-email-error")).to_contain_text(f"already in use by {own.name}")
    page.keyboard.type(" 555 0100")
    expect(phone).to_be_focused()
    expect(phone).to_have_value("+31 20 555 0100")
    expect(email).to_have_value(own.email)
