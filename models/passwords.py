"""Single-use password links (welcome and reset) and new passwords."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

import mailer
from extensions import db

from .audit import HIDDEN, audit
from .errors import RuleError
from .schema import Contact, ContactState, PasswordToken, utcnow

PASSWORD_MIN = 10
PASSWORD_MAX = 200
TOKEN_LIFETIME = {"welcome": timedelta(days=7), "reset": timedelta(hours=24)}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_password_token(contact: Contact, purpose: str) -> str:
    """A new single-use link token. Only its SHA-256 is stored; the token itself goes in the mail."""
    token = secrets.token_urlsafe(32)
    db.session.add(PasswordToken(contact_id=contact.id, token_hash=token_hash(token), purpose=purpose,
                                 expires_at=utcnow() + TOKEN_LIFETIME[purpose]))
    return token


def expire_password_links(contact: Contact) -> None:
    """End every unused link of the contact (their email changed, or they were suspended)."""
    db.session.execute(
        PasswordToken.__table__.update()
        .where(PasswordToken.contact_id == contact.id, PasswordToken.used_at.is_(None),
               PasswordToken.expires_at > utcnow())
        .values(expires_at=utcnow())
    )


def send_password_link(contact: Contact, purpose: str = "reset") -> None:
    """Queue the welcome or reset mail with a link to set a password (never the password itself)."""
    if contact.state != ContactState.LIVE:
        raise RuleError(f"{contact.name} is suspended. Make them live before sending a password link.", status=409)
    token = issue_password_token(contact, purpose)
    link = mailer.public_url("account.set_password", token=token)
    hours = int(TOKEN_LIFETIME[purpose].total_seconds() // 3600)
    subject = "Welcome to the Reseller Portal" if purpose == "welcome" else "Set a new password for the Reseller Portal"
    mailer.send_email(subject, [contact.email], purpose, first_name=contact.first_name, email=contact.email,
                      link=link, hours=hours)
    # The link itself is a secret: the trail says that one was sent, and to which address.
    audit("password_link" if purpose == "reset" else "welcome_link", contact,
          f"Sent a {'password' if purpose == 'reset' else 'welcome'} link to {contact.email}",
          {"link": [None, HIDDEN], "sent to": [None, contact.email]})


def find_password_token(token: str) -> PasswordToken:
    """The usable token, or RuleError 400 (unknown or tampered) / 410 (used or expired)."""
    row = None
    if token and len(token) <= 100:
        row = db.session.execute(
            select(PasswordToken).where(PasswordToken.token_hash == token_hash(token))
        ).scalar_one_or_none()
    if row is None:
        raise RuleError("This link is not valid. Check that you copied the whole link from the email, "
                        "or ask for a new one.", status=400)
    if row.used_at is not None:
        raise RuleError("This link has already been used. Each link works once; ask for a new one.", status=410)
    if row.expires_at <= utcnow():
        raise RuleError("This link has expired. Ask for a new one.", status=410)
    return row


def check_new_password(password: str, repeat: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise RuleError(f"Use at least {PASSWORD_MIN} characters (this one has {len(password)}).", "password")
    if len(password) > PASSWORD_MAX:
        raise RuleError(f"Use at most {PASSWORD_MAX} characters.", "password")
    if len(set(password)) == 1:
        raise RuleError("Use more than one different character.", "password")
    if password != repeat:
        raise RuleError("The two passwords are not the same. Type the new password again in both fields.",
                        "password_repeat")


def set_password_with_token(token: str, password: str, repeat: str) -> Contact:
    """Use a link: set the password, end the contact's other sessions and spend the link (and any older ones)."""
    row = find_password_token(token)
    check_new_password(password, repeat)
    now = utcnow()
    # Spend the link in one statement, so two submits at once cannot both use it.
    spent = db.session.execute(
        PasswordToken.__table__.update()
        .where(PasswordToken.id == row.id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        raise RuleError("This link has already been used. Each link works once; ask for a new one.", status=410)
    db.session.execute(
        PasswordToken.__table__.update()
        .where(PasswordToken.contact_id == row.contact_id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
    )
    contact = db.session.execute(
        select(Contact).where(Contact.id == row.contact_id).execution_options(unscoped=True)
    ).scalar_one()
    had_password = bool(contact.password_hash)
    contact.set_password(password)
    contact.session_epoch += 1
    db.session.flush()
    audit("set_password", contact, f"{contact.name} set a new password with a {row.purpose} link",
          {"password": [HIDDEN if had_password else None, HIDDEN]}, actor=contact)
    return contact
