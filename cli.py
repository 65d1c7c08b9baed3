"""Command line: flask --app app seed demo | resellers create | users create ..."""
from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate.cli import db as db_cli
from sqlalchemy import func, select

import mailer
import models
import seed_scale
from extensions import db
from models import Company, Contact, Reseller, Role, Room

seed = AppGroup("seed", help="Load demo or benchmark data.")
resellers = AppGroup("resellers", help="Manage resellers (tenants).")
users = AppGroup("users", help="Manage administrator and reseller users.")
mail_cli = AppGroup("mail", help="Deliver the outbox.")
trash_cli = AppGroup("trash", help="The Trash of deleted companies, contacts and rooms.")
trials = AppGroup("trials", help="Trial and demo rooms.")

DEMO_PASSWORD = "demo-password"


@resellers.command("create")
@click.argument("name")
@click.option("--origin", "origins", multiple=True, help="Partner origin allowed to embed the portal.")
def resellers_create(name, origins):
    """Create a reseller and print its embed secret."""
    try:
        reseller = models.create_reseller(name, list(origins))
        db.session.commit()
    except models.RuleError as err:
        db.session.rollback()
        raise click.ClickException(err.message)
    click.echo(f"Created reseller {reseller.name} (id {reseller.id}).")
    click.echo(f"Embed secret: {reseller.embed_secret}")


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([Role.ADMINISTRATOR.value, Role.RESELLER.value]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--reseller", "reseller_name", help="The reseller a reseller user belongs to.")
def users_create(email, role, password_stdin, reseller_name):
    """Create an administrator or a reseller user."""
    if not password_stdin:
        raise click.UsageError("Pass --password-stdin and give the password on standard input.")
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise click.ClickException("The password must be at least 8 characters.")
    reseller = None
    if reseller_name:
        reseller = db.session.execute(select(Reseller).where(func.lower(Reseller.name) == reseller_name.lower())).scalar()
        if reseller is None:
            raise click.ClickException(f"No reseller named {reseller_name}.")
    try:
        user = models.create_user(email, role, password, reseller)
        db.session.commit()
    except models.RuleError as err:
        db.session.rollback()
        raise click.ClickException(err.message)
    click.echo(f"Created {role} {user.email}.")


DEMO = {
    "Northwind Video": [
        ("Acme Dental", "Healthcare", "customer", True, ["Ann Lee", "Bob Ray", "Cy Twombly"], [
            ("Reception", "team room", "paid subscriber"), ("Dr Lee", "personal room", "trial")]),
        ("Brightside School", "Education", "prospect", False, ["Dana Scully", "Eli Wallach"], [
            ("Staff room", "team room", "trial"), ("Open day", "team room", "demo")]),
        ("City of Springfield", "Government", "customer", False, ["Fay Wray"], [
            ("Council chamber", "team room", "paid subscriber")]),
    ],
    "Southwind Partners": [
        ("Gamma Labs", "Business", "customer", True, ["Gil Scott", "Hal Jordan"], [
            ("Lab meeting", "team room", "paid subscriber")]),
    ],
}


@seed.command("demo")
def seed_demo():
    """Load demo data (idempotent) and print the demo logins."""
    logins = []
    for rname, companies in DEMO.items():
        reseller = db.session.execute(select(Reseller).where(Reseller.name == rname)).scalar()
        if reseller is None:
            reseller = models.create_reseller(rname, ["http://localhost:8000"])
        slug = rname.split()[0].lower()
        staff_email = f"staff@{slug}.example"
        if not models.email_taken(staff_email):
            models.create_user(staff_email, Role.RESELLER, DEMO_PASSWORD, reseller, "Sam", rname.split()[0])
        logins.append((staff_email, "reseller", rname))
        for cname, ctype, status, branded, people, rooms in companies:
            company = db.session.execute(
                select(Company).where(Company.reseller_id == reseller.id, Company.name_key == cname.lower())
            ).scalar()
            if company is None:
                company = models.create_company(reseller.id, {"name": cname, "type": ctype, "status": status, "branded": branded})
            contacts = []
            for person in people:
                first, last = person.split(" ", 1)
                email = f"{first.lower()}.{last.lower()}@{cname.split()[0].lower()}.example"
                contact = db.session.execute(select(Contact).where(Contact.email == email)).scalar()
                if contact is None:
                    # the demo password is set here, so no "set your password" welcome mail is queued
                    contact = models.create_contact(company, {"first_name": first, "last_name": last, "email": email},
                                                    welcome=False)
                    contact.set_password(DEMO_PASSWORD)
                contacts.append(contact)
            for i, (room_name, ptype, rstatus) in enumerate(rooms):
                room = db.session.execute(
                    select(Room).where(Room.company_id == company.id, Room.name_key == room_name.lower())
                ).scalar()
                if room is None:
                    room = models.create_room(company, {"name": room_name, "product_type": ptype, "status": rstatus})
                    hosts = contacts if ptype == "team room" else contacts[i % len(contacts):][:1]
                    for contact in hosts:
                        models.link(room, contact)
    if not models.email_taken("admin@portal.example"):
        models.create_user("admin@portal.example", Role.ADMINISTRATOR, DEMO_PASSWORD, None, "Ada", "Admin")
    owner = db.session.execute(select(Contact).where(Contact.email == "bob.ray@acme.example")).scalar()
    if owner is not None and not owner.has_role(Role.OWNER):
        models.set_roles(owner, owner.roles | {Role.OWNER})
    db.session.commit()
    click.echo("Demo data is loaded. Demo logins (password: %s):" % DEMO_PASSWORD)
    click.echo(f"  {'admin@portal.example':32} administrator")
    for email, role, rname in logins:
        click.echo(f"  {email:32} {role} of {rname}")
    click.echo(f"  {'bob.ray@acme.example':32} owner of Acme Dental")
    click.echo(f"  {'ann.lee@acme.example':32} contact of Acme Dental (host: My rooms)")


@seed.command("scale")
@click.option("--companies", default=200, show_default=True, help="Client companies of the main reseller (L: 20000).")
@click.option("--seed", "seed_", default=1, show_default=True, help="Random seed: the same seed gives the same data.")
def seed_scale_command(companies, seed_):
    """Load a large deterministic data set for benchmarks (bulk inserts) and print its login."""
    total = companies + 9 * max(1, companies // seed_scale.OTHERS_PER_MAIN)
    try:
        with click.progressbar(length=total, label=f"Seeding {total} companies") as bar:
            result = seed_scale.seed_scale(companies, seed_, progress=bar.update)
    except models.RuleError as err:
        db.session.rollback()
        raise click.ClickException(err.message)
    click.echo(f"Loaded {result['companies']} companies, {result['contacts']} contacts, {result['rooms']} rooms and "
               f"{result['hostings']} host links for {result['resellers']} resellers.")
    click.echo(f"Reseller login: {result['login']} (password: {result['password']})")


@mail_cli.command("send-pending")
@click.option("--batch", default=100, show_default=True, help="Messages claimed per round.")
def mail_send_pending(batch):
    """Deliver all due mail once (for cron); failures are retried on a later run, with back-off."""
    sent, failed, pending = mailer.deliver_all(current_app._get_current_object(), batch)
    click.echo(f"Sent {sent}, failed {failed}; {pending} still pending.")
    if failed:
        sys.exit(1)


@mail_cli.command("worker")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds to wait between looks at the outbox.")
@click.option("--batch", default=100, show_default=True, help="Messages claimed per round.")
@click.option("--once", is_flag=True, help="Deliver what is due once, then stop (like send-pending).")
@click.option("--max-rounds", type=click.IntRange(min=1), help="Stop after this many rounds.")
def mail_worker(interval, batch, once, max_rounds):
    """Deliver the outbox continuously; SIGTERM or SIGINT (Ctrl-C) stops it after the message in hand."""
    app = current_app._get_current_object()
    stop = threading.Event()

    def on_signal(signum, _frame):
        click.echo(f"Mail worker: {signal.Signals(signum).name}, stopping after the message in hand.")
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
    click.echo(f"Mail worker: delivering the outbox every {interval:g} s "
               f"(MAIL_TIMEOUT {app.config['MAIL_TIMEOUT']} s).")
    try:
        rounds = mailer.run_worker(app, interval=interval, batch=batch, max_rounds=1 if once else max_rounds,
                                   stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"Mail worker stopped after {rounds} round{'' if rounds == 1 else 's'}; "
               f"{mailer.pending_count(app)} still pending.")


@db_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@with_appcontext
def db_backup(path: Path, force: bool):
    """Copy the SQLite database to PATH while the portal runs: a consistent online copy (SQLite's
    backup API), search indexes included. On PostgreSQL use pg_dump (README, Reliability)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            f"db backup copies a SQLite database; this portal uses {url.get_backend_name()}. "
            "Use PostgreSQL's own tools: pg_dump -Fc -f portal.dump DATABASE_URL, restored with "
            "pg_restore --clean --no-owner -d DATABASE_URL portal.dump (or your managed service's snapshots).")
    source = url.database
    if not source or source == ":memory:" or source.startswith("file:"):
        raise click.ClickException("db backup needs a SQLite database file, not an in-memory database.")
    if path.resolve() == Path(source).resolve():
        raise click.ClickException("PATH is the database itself; choose another file.")
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists. Pass --force to overwrite it.")
    # Into a temporary file beside PATH, then renamed: PATH is never a half-written copy.
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    timeout = current_app.config.get("SQLITE_BUSY_TIMEOUT_MS") or 15_000
    src = sqlite3.connect(source, timeout=timeout / 1000)
    try:
        dst = sqlite3.connect(partial)
        try:
            # One step (pages=-1): the copy is one read transaction, a snapshot, while writers go on (WAL).
            src.backup(dst)
        finally:
            dst.close()
        os.replace(partial, path)
    except (sqlite3.Error, OSError) as err:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"The backup failed: {err}")
    finally:
        src.close()
    click.echo(f"Backed up {source} to {path} ({path.stat().st_size} bytes).")


@trash_cli.command("purge")
def trash_purge():
    """Remove what was deleted more than TRASH_DAYS ago, in one transaction. Safe to run from cron:
    a second run finds nothing old enough."""
    purged = models.purge()
    db.session.commit()
    click.echo(f"Purged {purged} item{'' if purged == 1 else 's'} deleted more than {models.trash_days()} days ago.")


@trials.command("notify")
def trials_notify():
    """Queue the trial-expiry emails that are due (7 days and 1 day before a room ends, and on the day),
    each once, however often this runs (cron) and even two at a time. The mail worker sends them."""
    queued = models.queue_trial_notices()
    click.echo(f"Queued {queued} trial notice{'' if queued == 1 else 's'}.")


def register(app: Flask) -> None:
    app.cli.add_command(trash_cli)
    app.cli.add_command(trials)
    app.cli.add_command(seed)
    app.cli.add_command(resellers)
    app.cli.add_command(users)
    app.cli.add_command(mail_cli)
