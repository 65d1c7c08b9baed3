"""Trial-expiry notices (``flask --app app trials notify``): the schedule, exactly once (also two runs at the
same time), the recipients and their switches, re-armed by an extension, and the mail's text, HTML and link."""
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

import models
from extensions import db
from models import OutboxMessage

from . import factories
from .conftest import delivered_mail

END = date(2026, 12, 20)


@pytest.fixture
def setup(frozen_now):
    frozen_now(datetime(2026, 12, 1, 8, 0))
    r = factories.reseller("Notify Co")
    staff = factories.staff(r, email="staff@notify.example")
    company = factories.company(r, "Trial Corp", status="prospect")
    owner = factories.owner(company, email="owner@trial.example")
    factories.contact(company, email="host@trial.example")  # a Host only: gets no notice
    room = factories.room(company, "Trial Room", end_date=END.isoformat())
    other = factories.reseller("Quiet Co")
    factories.staff(other, email="staff@quiet.example")
    return {"frozen_now": frozen_now, "staff": staff, "owner": owner, "room": room, "reseller": r, "company": company}


def _notices():
    db.session.rollback()
    rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("trial-notice:%"))
                              .order_by(OutboxMessage.id)).scalars().all()
    return rows


def _on(setup, day: date) -> int:
    setup["frozen_now"](datetime.combine(day, datetime.min.time()) + timedelta(hours=6))
    return models.queue_trial_notices()


def test_schedule_7_days_1_day_and_the_day_once_each(setup):
    assert _on(setup, END - timedelta(days=8)) == 0
    assert _on(setup, END - timedelta(days=7)) == 2  # the reseller's users, and the company's Owners
    assert _on(setup, END - timedelta(days=7)) == 0  # run again: nothing new
    assert _on(setup, END - timedelta(days=5)) == 0  # still the 7-day window: already sent
    assert _on(setup, END - timedelta(days=1)) == 2
    assert _on(setup, END) == 2
    assert _on(setup, END) == 0
    assert _on(setup, END + timedelta(days=1)) == 0  # ended: nothing more
    rows = _notices()
    assert [(r.subject, r.recipients) for r in rows] == [
        ("Trial Room ends in 7 days", "staff@notify.example"), ("Trial Room ends in 7 days", "owner@trial.example"),
        ("Trial Room ends in 1 day", "staff@notify.example"), ("Trial Room ends in 1 day", "owner@trial.example"),
        ("Trial Room ends today", "staff@notify.example"), ("Trial Room ends today", "owner@trial.example"),
    ]
    room_id = setup["room"].id
    assert rows[0].dedupe_key == f"trial-notice:{room_id}:7-days:2026-12-20:reseller"


def test_a_missed_day_catches_up_with_the_days_left(setup):
    assert _on(setup, END - timedelta(days=4)) == 2
    assert {r.subject for r in _notices()} == {"Trial Room ends in 4 days"}


def test_extending_re_arms_the_notices_for_the_new_date(setup):
    assert _on(setup, END - timedelta(days=7)) == 2
    room = db.session.execute(select(models.Room).where(models.Room.id == setup["room"].id)).scalar_one()
    models.extend_room(room, {"days": "10"})
    db.session.commit()
    assert _on(setup, END - timedelta(days=7)) == 0  # 17 days left now
    assert _on(setup, END + timedelta(days=3)) == 2  # 7 days before the new end
    assert [r.subject for r in _notices()][-1] == "Trial Room ends in 7 days"
    assert _notices()[-1].dedupe_key.endswith(":7-days:2026-12-30:owners")


def test_paid_and_suspended_rooms_get_none(setup):
    room = db.session.execute(select(models.Room).where(models.Room.id == setup["room"].id)).scalar_one()
    room.suspended = True
    db.session.commit()
    assert _on(setup, END - timedelta(days=1)) == 0
    room = db.session.execute(select(models.Room).where(models.Room.id == setup["room"].id)).scalar_one()
    room.suspended = False
    models.convert_room(room)
    db.session.commit()
    assert _on(setup, END - timedelta(days=1)) == 0


def test_the_reseller_and_an_owner_can_turn_them_off(setup):
    reseller = db.session.get(models.Reseller, setup["reseller"].id)
    reseller.trial_notices = False
    owner = db.session.get(models.Contact, setup["owner"].id)
    second = factories.owner(setup["company"], email="owner2@trial.example")
    models.set_own_trial_notices(owner, False)
    db.session.commit()
    assert _on(setup, END - timedelta(days=1)) == 1
    assert [r.recipients for r in _notices()] == [second.email]


def test_the_reseller_setting_is_on_the_settings_page(setup, client, auth):
    auth.login(setup["staff"].email)
    page = client.get("/settings")
    assert 'name="trial_notices"' in page.text and "Email trial notices to our users" in page.text
    data = {"trial_days": "14", "demo_days": "7", "brand_color": "#2f6fde", "logo_url": "", "embed_origins": "",
            "trial_notices_shown": "1"}
    assert client.post("/settings", data=data, htmx=True).status_code == 200
    db.session.expire_all()
    assert db.session.get(models.Reseller, setup["reseller"].id).trial_notices is False
    assert client.post("/settings", data={**data, "trial_notices": "1"}, htmx=True).status_code == 200
    db.session.expire_all()
    assert db.session.get(models.Reseller, setup["reseller"].id).trial_notices is True


def test_the_mail_is_text_and_html_with_a_link_to_the_room(setup):
    with delivered_mail() as sent:
        _on(setup, END - timedelta(days=1))
    assert len(sent) == 2
    link = f"http://portal.test/rooms/{setup['room'].id}/edit"
    for msg in sent:
        assert msg.subject == "Trial Room ends in 1 day"
        assert "ends in 1 day, on 2026-12-20" in msg.body and link in msg.body
        assert f'<a href="{link}">Open Trial Room</a>' in msg.html
    assert sent[0].recipients == ["staff@notify.example"] and sent[1].recipients == ["owner@trial.example"]


def test_the_command(setup, runner):
    setup["frozen_now"](datetime(2026, 12, 19, 6, 0))
    result = runner.invoke(args=["trials", "notify"])
    assert result.exit_code == 0 and "Queued 2 trial notices." in result.output
    assert "Queued 0 trial notices." in runner.invoke(args=["trials", "notify"]).output


def test_two_runs_at_the_same_time_send_each_notice_once(app, setup):
    """Two threads, each with its own session and connection, start the run together. On PostgreSQL and
    SQLite alike, the outbox's unique key lets one of them queue each notice; the other skips it."""
    for i in range(5):  # more rooms, more chances to collide
        factories.room(setup["company"], f"Trial {i}", end_date=END.isoformat())
    setup["frozen_now"](datetime(2026, 12, 13, 6, 0))
    db.session.commit()
    start = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                start.wait(timeout=10)
                results.append(models.queue_trial_notices())
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    rows = _notices()
    assert len(rows) == 12 and len({r.dedupe_key for r in rows}) == 12  # 6 rooms x 2 audiences
    assert sum(results) == 12


def test_the_outbox_refuses_a_second_notice_with_the_same_key(setup):
    """What makes the concurrent runs safe: the key is unique in the database, not only checked first."""
    from sqlalchemy.exc import IntegrityError

    _on(setup, END - timedelta(days=1))
    key = _notices()[0].dedupe_key
    db.session.add(OutboxMessage(recipients="x@y.example", subject="again", body_text="", body_html="", dedupe_key=key))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert len(_notices()) == 2
