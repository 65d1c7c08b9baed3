"""The embed's server side: replay protection for sign-in tokens, secret rotation, ending sessions.

The views are in blueprints/embed.py; the partner contract is docs/embedding.md.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from extensions import db

from .audit import HIDDEN, audit
from .errors import RuleError
from .schema import EmbedTokenUse, Reseller, utcnow

def use_embed_token(reseller: Reseller, jti: str, expires_at: datetime) -> None:
    """Record a sign-in token's jti until it expires; a replay hits the primary key and raises RuleError."""
    db.session.execute(EmbedTokenUse.__table__.delete().where(EmbedTokenUse.expires_at < utcnow()))
    db.session.add(EmbedTokenUse(jti=f"{reseller.id}:{jti}", reseller_id=reseller.id, expires_at=expires_at))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise RuleError("This sign-in link was already used.", "token", 401)


def rotate_embed_secret(reseller: Reseller) -> str:
    """A new embed secret. The one it replaces stays accepted for EMBED_SECRET_GRACE_SECONDS."""
    reseller.embed_secret_previous = reseller.embed_secret
    reseller.embed_secret = secrets.token_urlsafe(32)
    reseller.embed_secret_rotated_at = utcnow()
    db.session.flush()
    audit("rotate_embed_secret", reseller, f"Rotated the embed secret of {reseller.name}",
          {"embed_secret": [HIDDEN, HIDDEN]})  # the trail says it changed, never what to
    return reseller.embed_secret


def drop_previous_embed_secret(reseller: Reseller) -> None:
    """End the grace period now: only the current embed secret signs in (for a leaked previous secret)."""
    if reseller.embed_secret_previous is None:
        raise RuleError("There is no previous embed secret to stop.", "embed_secret", 409)
    reseller.embed_secret_previous = None
    db.session.flush()
    audit("drop_previous_embed_secret", reseller, f"Stopped the previous embed secret of {reseller.name}",
          {"embed_secret_previous": [HIDDEN, None]})


def end_embed_sessions(reseller: Reseller) -> None:
    """End every embed session of the reseller at once (they carry the epoch they were issued with)."""
    old = reseller.embed_epoch
    reseller.embed_epoch = old + 1
    db.session.flush()
    audit("end_embed_sessions", reseller, f"Ended all embed sessions of {reseller.name}",
          {"embed_epoch": [old, reseller.embed_epoch]})
