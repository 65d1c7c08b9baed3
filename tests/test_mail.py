"""The outbox: send_email, delivery after commit, retries with back-off, and real SMTP (aiosmtpd)."""
import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

import mailer
from extensions import db, mail
from models import OutboxMessage, utcnow

from . import factories

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK_RE = re.compile(r"http://portal\.test(/password/[A-Za-z0-9_\-]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, port):
        self.port = port
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def texts(self):
        return [m.get_body(preferencelist=("plain",)).get_content() for m in self.inbox.messages]


@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server on loopback; the app sends to it for this test only."""
    server = SMTPServer(free_port())
    monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down(app, monkeypatch):
    """Point the app at a loopback port where nothing listens."""
    monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())


def queue(subject="Hello", to="someone@example.com", **kw):
    msg = mailer.send_email(subject, [to], "reset", first_name="Sam", email=to,
                            link="http://portal.test/password/x", hours=24, **kw)
    return msg


def mark_all_sent():
    """Factories create contacts, and each queues a welcome mail; tests that count mail start from none."""
    db.session.execute(update(OutboxMessage).values(sent_at=utcnow()))
    db.session.commit()


def outbox(**where):
    return db.session.execute(select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)).scalars().all()


# ---------------------------------------------------------------- send_email and the outbox


def test_send_email_renders_text_and_html_into_the_outbox():
    msg = queue(subject="Set a new password", to="ann@example.com")
    db.session.commit()
    row = db.session.execute(select(OutboxMessage).where(OutboxMessage.id == msg.id)).scalar_one()
    assert row.recipients == "ann@example.com" and row.subject == "Set a new password"
    assert "Hello Sam" in row.body_text and "http://portal.test/password/x" in row.body_text
    assert '<a href="http://portal.test/password/x">' in row.body_html
    assert row.sent_at is None and row.attempts == 0


def test_send_email_is_part_of_the_callers_transaction():
    queue(to="rolled@example.com")
    db.session.rollback()
    assert outbox(recipients="rolled@example.com") == []


def test_send_email_escapes_html_but_not_text():
    mailer.send_email("Hi", ["x@example.com"], "reset", first_name="<b>Bo</b>", email="x@example.com",
                      link="http://portal.test/password/x", hours=24)
    db.session.commit()
    row = outbox(recipients="x@example.com")[0]
    assert "&lt;b&gt;Bo&lt;/b&gt;" in row.body_html and "<b>Bo</b>" in row.body_text


def test_send_email_dedupe_key_queues_once():
    first = queue(to="d@example.com", dedupe_key="trial-7d-room-1")
    second = queue(to="d@example.com", dedupe_key="trial-7d-room-1")
    db.session.commit()
    assert first.id == second.id and len(outbox(recipients="d@example.com")) == 1


# ---------------------------------------------------------------- deliver_pending


def test_deliver_pending_sends_once_and_marks_sent(app):
    queue(to="one@example.com")
    db.session.commit()
    with mail.record_messages() as sent:
        assert mailer.deliver_pending(app) == (1, 0)
        assert mailer.deliver_pending(app) == (0, 0)
    assert [m.recipients for m in sent] == [["one@example.com"]]
    assert "Hello Sam" in sent[0].body and "http://portal.test/password/x" in sent[0].html
    db.session.expire_all()
    row = outbox(recipients="one@example.com")[0]
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None


def test_deliver_pending_claimed_message_is_not_sent_twice(app):
    msg = queue(to="claimed@example.com")
    db.session.commit()
    assert mailer._claim(msg.id) is True  # another worker holds it
    assert mailer._claim(msg.id) is False
    with mail.record_messages() as sent:
        assert mailer.deliver_pending(app) == (0, 0)
    assert sent == []


def test_deliver_pending_failure_backs_off(app, smtp_down):
    msg = queue(to="later@example.com")
    db.session.commit()
    start = utcnow()
    assert mailer.deliver_pending(app) == (0, 1)
    db.session.expire_all()
    row = db.session.execute(select(OutboxMessage).where(OutboxMessage.id == msg.id)).scalar_one()
    assert row.sent_at is None and row.attempts == 1 and "Connection" in row.last_error
    assert timedelta(seconds=50) < row.next_attempt_at - start < timedelta(minutes=2)
    # not due yet: nothing is tried
    assert mailer.deliver_pending(app) == (0, 0)
    # once due, the next failure waits twice as long
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    start = utcnow()
    assert mailer.deliver_pending(app) == (0, 1)
    db.session.expire_all()
    row = db.session.execute(select(OutboxMessage).where(OutboxMessage.id == msg.id)).scalar_one()
    assert row.attempts == 2
    assert timedelta(seconds=110) < row.next_attempt_at - start < timedelta(minutes=3)


def test_backoff_grows_and_is_capped():
    assert [mailer.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert mailer.backoff(50) == mailer.MAX_BACKOFF


def test_deliver_pending_console_prints_text_and_marks_sent(app, monkeypatch, capsys):
    monkeypatch.setitem(app.config, "MAIL_CONSOLE", True)
    queue(to="console@example.com")
    db.session.commit()
    with mail.record_messages() as sent:
        assert mailer.deliver_pending(app) == (1, 0)
    assert sent == []  # nothing went to SMTP
    out = capsys.readouterr().out
    assert "console@example.com" in out and "http://portal.test/password/x" in out
    db.session.expire_all()
    assert outbox(recipients="console@example.com")[0].sent_at is not None


def test_public_url_ignores_the_request_host(app):
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert mailer.public_url("account.set_password", token="abc") == "http://portal.test/password/abc"


# ---------------------------------------------------------------- requests only write to the outbox


def test_request_queues_its_mail_and_sends_nothing(reseller_client, world):
    mark_all_sent()
    contact = world.a.contacts[1]
    with mail.record_messages() as sent:
        resp = reseller_client.post(f"/contacts/{contact.id}/reset-password", htmx=True)
    assert resp.status_code == 200
    assert sent == []  # the worker delivers it, not the request
    row = outbox(recipients=contact.email)[-1]
    assert "new password" in row.subject and row.sent_at is None and row.attempts == 0
    assert row.next_attempt_at <= utcnow()  # due at once for the worker


def test_request_answers_normally_when_smtp_is_down(reseller_client, world, smtp_down):
    mark_all_sent()
    contact = world.a.contacts[1]
    resp = reseller_client.post(f"/contacts/{contact.id}/reset-password", htmx=True)
    assert resp.status_code == 200 and "Password link sent" in resp.headers["HX-Trigger"]
    db.session.expire_all()
    row = outbox(recipients=contact.email)[-1]
    assert row.sent_at is None and row.attempts == 0 and row.last_error is None


class StalledSMTP:
    """A server on loopback that accepts every connection and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # held open, silent: the client waits for a greeting

    def close(self):
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_create_contact_answers_fast_with_a_stalled_smtp_server_and_the_mail_arrives_later(
        app, reseller_client, world, runner, monkeypatch):
    """The issue's acceptance test: SMTP accepts connections and never answers, and POST /contacts
    still answers at once; the welcome mail is delivered once SMTP is back."""
    mark_all_sent()
    stalled = StalledSMTP()
    try:
        monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", stalled.port)
        monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 30)  # as slow as it gets: the request must not care
        start = time.monotonic()
        resp = reseller_client.post("/contacts", data={
            "company_id": world.a.company.id, "first_name": "Stella", "last_name": "Stall",
            "email": "stella@stalled.example"}, htmx=True)
        elapsed = time.monotonic() - start
        assert resp.status_code == 200, resp.text
        assert "Added contact Stella Stall" in resp.headers["HX-Trigger"]
        assert elapsed < 2, f"POST /contacts took {elapsed:.1f} s with a stalled SMTP server"
        assert stalled.accepted == []  # the request never even connected
        assert [r.subject for r in outbox(recipients="stella@stalled.example", sent_at=None)] == [
            "Welcome to the Reseller Portal"]
    finally:
        stalled.close()
    # SMTP recovers: a real server, and the worker's next round delivers the mail, once
    server = SMTPServer(free_port())
    server.start()
    try:
        monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
        result = runner.invoke(args=["mail", "worker", "--once"])
        assert result.exit_code == 0, result.output
        assert "Sent 1, failed 0; 0 still pending." in result.output
        again = runner.invoke(args=["mail", "worker", "--max-rounds", "2", "--interval", "0.05"])
        assert again.exit_code == 0 and "Sent " not in again.output  # nothing more to send
        assert [m["To"] for m in server.inbox.messages] == ["stella@stalled.example"]
        assert "Welcome" in server.inbox.messages[0]["Subject"]
        assert read_link(server.texts()[0]).startswith("/password/")
    finally:
        server.stop()
    db.session.expire_all()
    assert outbox(recipients="stella@stalled.example")[0].sent_at is not None


# ---------------------------------------------------------------- CLI


def test_mail_send_pending_cli(app, runner):
    mark_all_sent()
    for i in range(3):
        queue(to=f"cli{i}@example.com")
    db.session.commit()
    with mail.record_messages() as sent:
        result = runner.invoke(args=["mail", "send-pending", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "Sent 3, failed 0; 0 still pending." in result.output
    assert sorted(m.recipients[0] for m in sent) == ["cli0@example.com", "cli1@example.com", "cli2@example.com"]


def test_mail_send_pending_cli_reports_failures(app, runner, smtp_down):
    mark_all_sent()
    queue(to="fail@example.com")
    db.session.commit()
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 1
    assert "Sent 0, failed 1; 1 still pending." in result.output


def test_mail_worker_once_delivers_what_is_due(app, runner):
    mark_all_sent()
    for i in range(3):
        queue(to=f"w{i}@example.com")
    db.session.commit()
    with mail.record_messages() as sent:
        result = runner.invoke(args=["mail", "worker", "--once", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "Sent 3, failed 0; 0 still pending." in result.output
    assert "Mail worker stopped after 1 round; 0 still pending." in result.output
    assert sorted(m.recipients[0] for m in sent) == ["w0@example.com", "w1@example.com", "w2@example.com"]


def test_mail_worker_polls_until_it_is_stopped(app):
    """Mail queued while the worker waits goes out on its next round; a stop ends the wait at once."""
    mark_all_sent()
    stop = threading.Event()
    worker = threading.Thread(target=mailer.run_worker, args=(app,),
                              kwargs={"interval": 0.05, "stop": stop, "report": lambda _line: None})
    with mail.record_messages() as sent:
        worker.start()
        queue(to="polled@example.com")
        db.session.commit()
        deadline = time.monotonic() + 10
        while not sent and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        worker.join(5)
    assert not worker.is_alive()
    assert [m.recipients for m in sent] == [["polled@example.com"]]


def test_mail_worker_keeps_running_when_a_round_fails(app, monkeypatch):
    calls = []

    def broken(*_a, **_k):
        calls.append(1)
        raise RuntimeError("database away")

    monkeypatch.setattr(mailer, "deliver_all", broken)
    assert mailer.run_worker(app, interval=0.01, max_rounds=3) == 3 and len(calls) == 3


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_mail_worker_process_delivers_and_stops_cleanly_on_a_signal(app, smtp, sig):
    """The real process: it delivers to a real SMTP server, then a signal stops it with status 0."""
    mark_all_sent()
    queue(to="process@example.com")
    db.session.commit()
    env = {**os.environ, "FLASK_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
           "FLASK_MAIL_SERVER": "127.0.0.1", "FLASK_MAIL_PORT": str(smtp.port), "FLASK_MAIL_TIMEOUT": "5",
           "FLASK_SECRET_KEY": "test-secret-of-the-worker", "FLASK_PUBLIC_URL": "http://portal.test",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "mail", "worker", "--interval", "0.2"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not smtp.inbox.messages and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.fail(f"the worker exited early: {proc.communicate()[0]}")
        assert [m["To"] for m in smtp.inbox.messages] == ["process@example.com"]
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert f"Mail worker: {sig.name}, stopping" in out and "Mail worker stopped after" in out
    assert "0 still pending" in out
    assert len(smtp.inbox.messages) == 1


# ---------------------------------------------------------------- real SMTP


def read_link(text: str) -> str:
    match = LINK_RE.search(text)
    assert match, text
    return match.group(1)


def test_reset_password_over_real_smtp(app, client, auth, world, smtp, runner):
    contact = world.a.contacts[0]
    staff = world.a.staff.email
    mark_all_sent()
    # 1. a reseller resets the contact's password over HTTP
    auth.login(staff)
    resp = client.post(f"/contacts/{contact.id}/reset-password", htmx=True)
    assert resp.status_code == 200
    assert f"Password link sent to {contact.email}" in resp.headers["HX-Trigger"]
    auth.logout()
    # 2. the mail worker delivers it to the SMTP server
    assert smtp.inbox.messages == []
    assert runner.invoke(args=["mail", "worker", "--once"]).exit_code == 0
    assert len(smtp.inbox.messages) == 1
    message = smtp.inbox.messages[0]
    assert message["To"] == contact.email
    text = smtp.texts()[0]
    assert factories.PASSWORD not in text
    path = read_link(text)
    # 3. follow the link and set a password
    page = client.get(path)
    assert page.status_code == 200 and "New password" in page.text
    resp = client.post(path, data={"password": "a new long secret", "password_repeat": "a new long secret"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    # 4. log in as that contact, with the new password only
    assert client.post("/login", data={"email": contact.email, "password": factories.PASSWORD}).status_code == 422
    auth.login(contact.email, "a new long secret")
    # ... and sees My rooms with exactly their linked rooms
    home = client.get("/my-rooms")
    assert home.status_code == 200 and "My rooms" in home.text
    assert set(re.findall(r'id="my-room-(\d+)"', home.text)) == {str(world.a.team.id)}
    assert world.a.team.name in home.text
    auth.logout()
    # 5. the link fails the second time
    again = client.post(path, data={"password": "another long secret", "password_repeat": "another long secret"})
    assert again.status_code == 410 and "already been used" in again.text
    assert client.get(path).status_code == 410


def test_smtp_outage_loses_no_mail(app, client, auth, world, smtp, runner):
    company = world.a.company
    people = [factories.contact(company, first=f"Out{i}") for i in range(50)]
    mark_all_sent()
    auth.login(world.a.staff.email)
    smtp.stop()
    for person in people:
        resp = client.post(f"/contacts/{person.id}/reset-password", htmx=True)
        assert resp.status_code == 200
        assert f"Password link sent to {person.email}" in resp.headers["HX-Trigger"]
    assert smtp.inbox.messages == []
    db.session.expire_all()
    assert len(outbox(sent_at=None)) == 50
    smtp.start()
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "Sent 50, failed 0; 0 still pending." in result.output
    received = sorted(m["To"] for m in smtp.inbox.messages)
    assert received == sorted(p.email for p in people)  # every one, exactly once
    again = runner.invoke(args=["mail", "send-pending"])
    assert "Sent 0, failed 0; 0 still pending." in again.output
    assert len(smtp.inbox.messages) == 50
    # each mail carries its own working link
    links = {read_link(t) for t in smtp.texts()}
    assert len(links) == 50


# ---------------------------------------------------------------- a stalled or rude SMTP server


def test_deliver_pending_stalled_server_times_out(app, monkeypatch):
    """A server that accepts the connection and never answers fails the try in MAIL_TIMEOUT seconds,
    well inside the claim's lease, so the request is not held and the mail is not sent twice later."""
    import time

    with socket.socket() as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(1)  # the kernel completes the connection; nobody ever says hello
        monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", stalled.getsockname()[1])
        monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 0.5)
        msg = queue(to="stalled@example.com")
        db.session.commit()
        start = time.monotonic()
        assert mailer.deliver_pending(app, ids=[msg.id]) == (0, 1)
        assert time.monotonic() - start < 5
    db.session.expire_all()
    row = outbox(recipients="stalled@example.com")[0]
    assert row.sent_at is None and "timed out" in row.last_error.lower()


def test_deliver_pending_quit_failure_after_acceptance_counts_as_sent(app, smtp, monkeypatch):
    """Once the server has accepted the message, a failing QUIT must not make it go out again."""
    import smtplib

    def broken_quit(self):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(smtplib.SMTP, "quit", broken_quit)
    mark_all_sent()
    msg = queue(to="once@example.com")
    db.session.commit()
    assert mailer.deliver_pending(app, ids=[msg.id]) == (1, 0)
    db.session.expire_all()
    row = outbox(recipients="once@example.com")[0]
    assert row.sent_at is not None and row.last_error is None
    # nothing is due any more: a later run sends nothing, even after the lease
    row.next_attempt_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert mailer.deliver_pending(app) == (0, 0)
    assert [m["To"] for m in smtp.inbox.messages] == ["once@example.com"]


def test_mail_timeout_is_short_and_configurable(monkeypatch):
    from app import create_app
    from config import Config, TestConfig

    assert Config.MAIL_TIMEOUT == 10
    monkeypatch.setenv("FLASK_MAIL_TIMEOUT", "3")
    assert create_app(TestConfig).config["MAIL_TIMEOUT"] == 3
