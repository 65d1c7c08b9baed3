"""Mail through an outbox: written in the caller's transaction, delivered after it commits.

``send_email`` renders ``templates/email/<name>.txt`` and ``.html`` and adds an
OutboxMessage row to the current transaction (no commit). When a request
whose transaction queued mail has committed, an after-request hook tries to
deliver that mail once; if SMTP is down it stays pending (due at once), and
``flask --app app mail send-pending`` delivers it later. Failures there are
retried on later runs with exponential back-off (1, 2, 4 ... minutes, at most 6 h).
With config MAIL_CONSOLE the text is printed on the console instead (``make run``).

A message is claimed before it is sent (one UPDATE that only succeeds while
the row is unsent and due), so two workers never send the same message. The
claim is a lease: if a worker dies between the claim and the send, the
message becomes due again when the lease runs out, so no mail is lost.
Every SMTP operation has a timeout (MAIL_TIMEOUT, well inside the lease), and
once the server has accepted a message it counts as sent even if closing the
connection fails, so a message is not sent twice. (A worker that dies after
the server accepted the message but before recording it sends it again after
the lease: that one case is at least once.)
"""
from __future__ import annotations

import smtplib
from datetime import timedelta
from urllib.parse import urlsplit

import click
from flask import Flask, current_app, render_template
from flask_mail import Connection, Message
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from extensions import db, mail
from models.schema import OutboxMessage, utcnow

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)
# Seconds one SMTP operation may take (config MAIL_TIMEOUT). Flask-Mail sets none, and a stalled
# server would then hold the request and the claim until the lease ran out and the mail went twice.
DEFAULT_TIMEOUT = 30


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
    db.session.info.setdefault("outbox_queued", []).append(msg.id)
    return msg


# The ids queued in a transaction become deliverable when it commits, and are forgotten on rollback.
@event.listens_for(Session, "after_commit")
def _outbox_committed(session) -> None:
    queued = session.info.pop("outbox_queued", None)
    if queued:
        session.info.setdefault("outbox_ready", []).extend(queued)


@event.listens_for(Session, "after_rollback")
def _outbox_rolled_back(session) -> None:
    session.info.pop("outbox_queued", None)


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


def deliver_pending(app: Flask, limit: int = 100, ids: list[int] | None = None, back_off: bool = True) -> tuple[int, int]:
    """Send up to ``limit`` due messages (only ``ids`` if given). Returns (sent, failed).

    A failed message waits ``backoff(attempts)`` before its next try; with ``back_off=False``
    (the quick try right after a request) it stays due for the next ``mail send-pending``.
    """
    sent = failed = 0
    with app.app_context():  # its own session, apart from the request's
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
        timeout = float(config.get("MAIL_TIMEOUT", DEFAULT_TIMEOUT))
        for msg_id in candidates:
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
                    row.next_attempt_at = utcnow() + (backoff(row.attempts) if back_off else timedelta(0))
                    db.session.commit()
                    failed += 1
                    app.logger.warning("Mail %s to %s not sent: %s", row.id, row.recipients, row.last_error)
                    continue
            row.sent_at = utcnow()
            row.last_error = None
            db.session.commit()
            sent += 1
    return sent, failed


def deliver_all(app: Flask, batch: int = 100) -> tuple[int, int, int]:
    """Deliver every due message, batch by batch. Returns (sent, failed, still pending)."""
    sent = failed = 0
    while True:
        s, f = deliver_pending(app, limit=batch)
        sent, failed = sent + s, failed + f
        if s + f == 0:
            break
    with app.app_context():
        pending = db.session.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        ).scalar()
    return sent, failed, pending


def init_app(app: Flask) -> None:
    @app.before_request
    def _outbox_reset():
        db.session.info.pop("outbox_ready", None)

    @app.after_request
    def _outbox_deliver(response):
        ids = db.session.info.pop("outbox_ready", None)
        if ids:
            try:
                deliver_pending(app, limit=len(ids), ids=ids, back_off=False)
            except Exception:  # never fail the request over mail; it stays pending
                app.logger.exception("Delivering mail after the request failed; it stays in the outbox.")
        return response
