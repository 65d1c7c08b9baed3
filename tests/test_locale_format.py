"""Dates and numbers in the person's locale and time zone: the account form saves them (bad values: 422
next to the field), and lists, room end dates and History read in them. The default ("en", "UTC") reads
as before."""
from __future__ import annotations

from datetime import date, datetime

from flask_login import login_user

import locale_format
from extensions import db
from models import Contact

from .conftest import page_text


def _save(client, **data):
    return client.post("/account", data=data, htmx=True)


def test_the_account_form_saves_locale_and_zone(reseller_client, world):
    page = reseller_client.get("/account")
    assert page.status_code == 200 and 'id="account-time_zone"' in page.text and 'value="en" selected' in page.text
    resp = _save(reseller_client, locale="de", time_zone="Europe/Berlin")
    assert resp.status_code == 200 and "Saved your date and number settings" in resp.headers["HX-Trigger"]
    staff = db.session.get(Contact, world.a.staff.id)
    db.session.refresh(staff)
    assert (staff.locale, staff.time_zone) == ("de", "Europe/Berlin")


def test_bad_values_are_refused_next_to_their_field(reseller_client, world):
    resp = _save(reseller_client, locale="klingon", time_zone="UTC")
    assert resp.status_code == 422 and 'id="account-locale-error"' in resp.text
    resp = _save(reseller_client, locale="fr", time_zone="Mars/Olympus")
    assert resp.status_code == 422 and 'id="account-time_zone-error"' in resp.text
    assert "Choose a time zone from the list" in resp.text
    staff = db.session.get(Contact, world.a.staff.id)
    db.session.refresh(staff)
    assert (staff.locale, staff.time_zone) == ("en", "UTC")


def test_lists_read_in_the_chosen_zone_and_locale(reseller_client, world):
    company = world.a.company
    company.created_at = datetime(2026, 3, 1, 23, 30)  # UTC: 1 March; in Berlin already 2 March
    db.session.commit()
    assert "2026-03-01" in page_text(reseller_client.get("/companies"))
    _save(reseller_client, locale="de", time_zone="Europe/Berlin")
    text = page_text(reseller_client.get("/companies"))
    assert "02.03.2026" in text and "2026-03-01" not in text
    _save(reseller_client, locale="en-US", time_zone="America/New_York")  # (counts: tests/test_lists*.py)
    assert "03/01/2026" in page_text(reseller_client.get("/companies"))


def test_history_times_and_room_end_dates_in_the_chosen_zone(reseller_client, world):
    room = world.a.team
    room.end_date = date(2030, 12, 31)
    db.session.commit()
    reseller_client.post(f"/rooms/{room.id}", data={"name": "Renamed", "product_type": room.product_type,
                                                    "status": room.status, "max_participants": 30,
                                                    "version": room.version, "end_date": "2030-12-31"}, htmx=True)
    assert " UTC</time>" in reseller_client.get(f"/rooms/{room.id}/history").text
    _save(reseller_client, locale="nl", time_zone="Asia/Tokyo")
    history = reseller_client.get(f"/rooms/{room.id}/history").text
    assert " JST</time>" in history
    assert "31-12-2030" in page_text(reseller_client.get("/rooms"))


def test_the_filters_directly(app, world):
    staff = world.a.staff
    staff.locale, staff.time_zone = "fr", "Europe/Paris"
    db.session.commit()
    with app.test_request_context():
        assert locale_format.when(datetime(2026, 7, 1, 12, 0)) == "2026-07-01 12:00 UTC"  # signed out: default
        assert locale_format.day(datetime(2026, 12, 31, 23, 30)) == "2026-12-31"  # a stored UTC time, read in UTC
        assert locale_format.num(1234567) == "1,234,567"
        login_user(staff)
        assert locale_format.when(datetime(2026, 7, 1, 12, 0)) == "01/07/2026 14:00 CEST"
        assert locale_format.day(date(2026, 7, 1)) == "01/07/2026"
        assert locale_format.day(datetime(2026, 12, 31, 23, 30)) == "01/01/2027"  # already the new year in Paris
        assert locale_format.num(1234567) == "1\u202f234\u202f567"
        staff.locale, staff.time_zone = "en", "Pacific/Kiritimati"
        assert locale_format.day(datetime(2026, 12, 31, 10, 30)) == "2027-01-01"  # UTC+14


def test_the_match_count_uses_the_locales_grouping(app, world):
    from listing import ListPage

    world.a.staff.locale = "de"
    db.session.commit()
    with app.test_request_context():
        page = ListPage([], False, False, 1500, {}, {})
        assert page.total_label == "1,000+"
        login_user(world.a.staff)
        assert page.total_label == "1.000+"
