"""Mail through an outbox: written in the caller's transaction, delivered outside any request.

``send_email`` renders ``templates/email/<name>.txt`` and ``.html`` and adds an
OutboxMessage row to the current transaction (no commit). A request only ever
writes to the outbox: nothing is sent while anyone waits, so a slow or stalled
SMTP server cannot hold a request. Delivery is a separate process:

- ``flask --app app mail worker`` polls the outbox every ``--interval`` seconds and
  stops cleanly on SIGTERM or SIGINT (``--once`` / ``--max-rounds`` for tests and scripts);
- ``flask --app app mail send-pending`` delivers what is due once (cron).

Failures are retried on later rounds with exponential back-off (1, 2, 4 ... minutes,
at most 6 h). With config MAIL_CONSOLE the text is printed on the console instead of
sent (``make run`` starts a worker that does this).

A message is claimed before it is sent (one UPDATE that only succeeds while
the row is unsent and due), so two workers never send the same message. The
claim is a lease: if a worker dies between the claim and the send, the
message becomes due again when the lease runs out, so no mail is lost.
Every SMTP operation (connect, each command, the data) has a timeout
(MAIL_TIMEOUT, default 10 s, well inside the lease), and
once the server has accepted a message it counts as sent even if closing the
connection fails, so a message is not sent twice. (A worker that dies after
the server accepted the message but before recording it sends it again after
the lease: that one case is at least once.)
"""
from __future__ import annotations

import smtplib
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import click
from flask import Flask, current_app, render_template
from flask_mail import Connection, Message
from sqlalchemy import func, select, update

from extensions import db, mail
from models.schema import OutboxMessage, utcnow

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)
# Seconds one SMTP operation may take (config MAIL_TIMEOUT). Flask-Mail sets none, and a stalled
# server would then hold the worker and the claim until the lease ran out and the mail went twice.
DEFAULT_TIMEOUT = 10


def public_url(endpoint: str, **values) -> str:
    """An absolute link built from config PUBLIC_URL, never from the request's Host header."""
    base = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def send_email(subject: str, recipients: list[str], template: str, dedupe_key: str | None = None, **ctx) -> OutboxMessage:
    """Queue a mail in the current transaction. With ``dedupe_key``, the same key is queued only once."""
    if dedupe_key:
        existing = db.session.execute(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    msg = OutboxMessage(
        recipients=", ".join(recipients),
        subject=subject,
        body_text=render_template(f"email/{template}.txt", **ctx),
        body_html=render_template(f"email/{template}.html", **ctx),
        dedupe_key=dedupe_key,
        next_attempt_at=utcnow(),
    )
    db.session.add(msg)
    db.session.flush()
    return msg


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=1) * 2 ** min(max(attempts - 1, 0), 20), MAX_BACKOFF)


def _claim(msg_id: int) -> bool:
    now = utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == msg_id, OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
        .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


class TimedConnection(Connection):
    """Flask-Mail's SMTP connection, with a socket timeout."""

    def __init__(self, state, timeout: float):
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self):
        m = self.mail
        smtp_class = smtplib.SMTP_SSL if m.use_ssl else smtplib.SMTP
        host = smtp_class(m.server, m.port, timeout=self.timeout)
        try:
            host.set_debuglevel(int(m.debug))
            if m.use_tls:
                host.starttls()
            if m.username and m.password:
                host.login(m.username, m.password)
        except Exception:
            host.close()
            raise
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        if self.host is not None:
            try:
                self.host.quit()
            finally:
                self.host.close()  # also when QUIT fails


def _to_message(row: OutboxMessage) -> Message:
    return Message(
        subject=row.subject,
        recipients=[r.strip() for r in row.recipients.split(",") if r.strip()],
        body=row.body_text,
        html=row.body_html,
    )


def deliver_pending(app: Flask, limit: int = 100, ids: list[int] | None = None,
                    stop: threading.Event | None = None) -> tuple[int, int]:
    """Send up to ``limit`` due messages (only ``ids`` if given). Returns (sent, failed).

    A failed message waits ``backoff(attempts)`` before its next try. Once ``stop`` is set,
    no further message is started (the one being sent finishes, within MAIL_TIMEOUT).
    """
    sent = failed = 0
    with app.app_context():  # its own session, apart from any request's
        config = app.config
        stmt = (
            select(OutboxMessage.id)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= utcnow())
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if ids is not None:
            stmt = stmt.where(OutboxMessage.id.in_(ids))
        candidates = db.session.execute(stmt).scalars().all()
        db.session.commit()
        # Flask-Mail reads its settings once at init_app; read them now so changed config applies.
        state = mail.init_mail(config, app.debug, app.testing)
        timeout = float(config.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT)
        for msg_id in candidates:
            if stop is not None and stop.is_set():
                break
            if not _claim(msg_id):
                continue  # another worker has it, or it was sent meanwhile
            row = db.session.execute(select(OutboxMessage).where(OutboxMessage.id == msg_id)).scalar_one()
            accepted = False  # the server took the message: from here on it counts as sent
            try:
                if config.get("MAIL_CONSOLE"):
                    click.echo(f"\n--- Mail to {row.recipients}: {row.subject}\n{row.body_text}\n---")
                else:
                    with TimedConnection(state, timeout) as conn:
                        conn.send(_to_message(row))
                        accepted = True
            except Exception as err:  # SMTP down, refused, timed out: try again later
                if accepted:  # only saying goodbye (QUIT) failed; sending it again would deliver it twice
                    app.logger.warning("Mail %s was accepted; closing the connection failed: %s", row.id, err)
                else:
                    row.last_error = f"{type(err).__name__}: {err}"[:2000]
                    row.next_attempt_at = utcnow() + backoff(row.attempts)
                    db.session.commit()
                    failed += 1
                    app.logger.warning("Mail %s to %s not sent: %s", row.id, row.recipients, row.last_error)
                    continue
            row.sent_at = utcnow()
            row.last_error = None
            db.session.commit()
            sent += 1
    return sent, failed


def pending_count(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        ).scalar()


def deliver_all(app: Flask, batch: int = 100, stop: threading.Event | None = None) -> tuple[int, int, int]:
    """Deliver every due message, batch by batch. Returns (sent, failed, still pending)."""
    sent = failed = 0
    while not (stop is not None and stop.is_set()):
        s, f = deliver_pending(app, limit=batch, stop=stop)
        sent, failed = sent + s, failed + f
        if s + f == 0:
            break
    return sent, failed, pending_count(app)


def run_worker(app: Flask, interval: float = 5.0, batch: int = 100, max_rounds: int | None = None,
               stop: threading.Event | None = None, report=click.echo) -> int:
    """Deliver due mail, then wait ``interval`` seconds, until ``stop`` is set or after ``max_rounds``.

    Returns the number of rounds run. A round that fails (the database is away) is logged and
    tried again after the interval; the worker keeps running.
    """
    stop = stop or threading.Event()
    rounds = 0
    while not stop.is_set():
        try:
            sent, failed, pending = deliver_all(app, batch, stop)
            if sent or failed:
                report(f"Sent {sent}, failed {failed}; {pending} still pending.")
        except Exception:
            app.logger.exception("The mail worker's round failed; trying again in %s s.", interval)
        rounds += 1
        if max_rounds is not None and rounds >= max_rounds:
            break
        stop.wait(interval)
    return rounds


def init_app(app: Flask) -> None:
    """Nothing is delivered from a request; see ``run_worker`` and the ``mail`` commands in cli.py."""
    app.config.setdefault("MAIL_TIMEOUT", DEFAULT_TIMEOUT)
