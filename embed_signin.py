"""The partner's signed sign-in token (``GET /embed/sso?token=…``). The contract is docs/embedding.md.

A JWT (HS256) signed by the partner's server with the reseller's embed secret. The reseller
is the one the ``sub`` user (an email, unique in the whole system) belongs to, so the token
needs no extra claim to name it; a token signed with any other reseller's secret fails the
signature check. ``exp`` is required, not past and at most EMBED_TOKEN_MAX_SECONDS ahead;
``jti`` is single use (an EmbedTokenUse row for as long as the token would be accepted,
inserted in the sign-in transaction, so a replay hits the primary key); ``path`` is an
optional portal path; ``iat`` and ``nbf``, when present, must be numbers not in the future.
Every time check allows CLOCK_SKEW_SECONDS between the partner's clock and ours. After a
rotation the previous secret is accepted for EMBED_SECRET_GRACE_SECONDS (or until "Stop the
previous secret now").
"""
from __future__ import annotations

import re
import secrets
import time
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit

import jwt
from flask import current_app, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

import models
from embed_frame import NOT_IN_FRAME
from extensions import db
from models import Contact, ContactState, Reseller, RuleError

# The partner's clock and ours may differ by this much: leeway for exp, nbf and iat, and for the longest lifetime.
CLOCK_SKEW_SECONDS = 30
TOKEN_MAX = 4096
JTI_MAX = 128
PATH_MAX = 500
# For PyJWT: exp and jti are required. sub, jti and path are checked here (aud and iss are not used).
_CHECKS = {"require": ["exp", "jti"], "verify_aud": False, "verify_iss": False, "verify_sub": False,
           "verify_jti": False}
_CLAIM_NAMED = re.compile(r"\((exp|nbf|iat)\)")

INVALID = "This sign-in link is not valid. Open the portal again from your partner site."
EXPIRED = "This sign-in link has expired. Open the portal again from your partner site."
USED = "This sign-in link was already used. Open the portal again from your partner site."
SUSPENDED = "This account is suspended. Ask your reseller to reactivate it."
NEEDS_EXP = "This sign-in link is not valid: it needs an exp (expiry time)."
NEEDS_JTI = f"This sign-in link is not valid: it needs a jti of 1 to {JTI_MAX} characters."


class TokenProblem(Exception):
    def __init__(self, status: int, message: str, reseller: Reseller | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reseller = reseller  # set once the signature is proven: the problem page may be framed by it


def accepted_secrets(reseller: Reseller) -> list[str]:
    """The current secret, and the previous one during the grace period after a rotation."""
    keys = [reseller.embed_secret]
    rotated = reseller.embed_secret_rotated_at
    grace = current_app.config["EMBED_SECRET_GRACE_SECONDS"]
    if reseller.embed_secret_previous and rotated is not None:
        age = (models.utcnow() - rotated).total_seconds()
        if age <= grace:
            keys.append(reseller.embed_secret_previous)
    return keys


def portal_path(value) -> str | None:
    """A path of a portal page a person can open, like /companies?q=acme; None for anything else."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or len(value) > PATH_MAX:
        return None
    if "\\" in value or any(ord(c) < 33 or ord(c) == 127 for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    try:
        endpoint, _args = current_app.url_map.bind("portal.invalid").match(parts.path, method="GET")
    except (HTTPException, RequestRedirect):
        return None
    if endpoint == "static" or endpoint in NOT_IN_FRAME or endpoint.startswith("embed."):
        return None
    return value


def find_contact(email) -> Contact | None:
    """The contact of a reseller with this email (any case), whichever reseller it is."""
    if not isinstance(email, str) or not email.strip() or len(email) > 254 or "\x00" in email:
        return None  # (PostgreSQL refuses a NUL in a query parameter; no email holds one)
    return db.session.execute(
        select(Contact).where(Contact.email == email.strip().lower(), Contact.reseller_id.is_not(None))
        .execution_options(unscoped=True)
    ).scalar_one_or_none()


def _refusal(err: jwt.PyJWTError) -> str:
    """What to tell the partner about a token they signed that PyJWT's claim checks refused."""
    if isinstance(err, jwt.ExpiredSignatureError):
        return EXPIRED
    if isinstance(err, jwt.MissingRequiredClaimError):
        return NEEDS_JTI if err.claim == "jti" else NEEDS_EXP
    found = _CLAIM_NAMED.search(str(err))  # PyJWT names the time claim: "The token is not yet valid (nbf)"
    name = found.group(1) if found else None
    if isinstance(err, jwt.ImmatureSignatureError) and name:
        return f"This sign-in link is not valid yet: its {name} is in the future."
    if name == "exp":
        return NEEDS_EXP
    if name:  # nbf or iat is not a number of seconds
        return f"This sign-in link is not valid: its {name} is not a time."
    return INVALID


def _signed_claims(token: str, keys: list[str], reseller: Reseller | None) -> dict | None:
    """The claims, if one of the keys signed the token; None if none did.

    PyJWT checks the claims once the signature matches: exp and jti present, exp not past, nbf and
    iat (when present) not in the future, each with CLOCK_SKEW_SECONDS of leeway. A refusal from
    here on is the partner's own token, so its pages may frame the problem page.
    """
    for key in keys:
        try:
            return jwt.decode(token, key, algorithms=["HS256"], leeway=CLOCK_SKEW_SECONDS, options=_CHECKS)
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as err:
            raise TokenProblem(401, _refusal(err), reseller)
    return None


def verify_token(token: str) -> tuple[Contact, Reseller, dict]:
    """The contact a sign-in token is for, or TokenProblem. Records the jti (the caller commits)."""
    if not token or len(token) > TOKEN_MAX:
        raise TokenProblem(401, INVALID)
    try:  # only to find whose secret to check it with
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenProblem(401, INVALID)
    if header.get("alg") != "HS256":
        raise TokenProblem(401, INVALID)
    contact = find_contact(unverified.get("sub"))
    reseller = contact.reseller if contact is not None else None
    # An unknown sub still costs one HMAC, and answers exactly like a bad signature.
    keys = accepted_secrets(reseller) if reseller is not None else [secrets.token_urlsafe(32)]
    claims = _signed_claims(token, keys, reseller)
    if claims is None or contact is None:
        raise TokenProblem(401, INVALID)
    limit = current_app.config["EMBED_TOKEN_MAX_SECONDS"]
    exp = int(claims["exp"])  # as PyJWT read it
    if exp > time.time() + limit + CLOCK_SKEW_SECONDS:
        raise TokenProblem(
            401, f"This sign-in link is not valid: it may be valid for at most {limit // 60} minutes.", reseller
        )
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > JTI_MAX or "\x00" in jti:
        raise TokenProblem(401, NEEDS_JTI, reseller)
    path = claims.get("path")
    if path is not None and portal_path(path) is None:
        raise TokenProblem(403, "This sign-in link asks for a page the portal cannot open.", reseller)
    if contact.state != ContactState.LIVE:
        raise TokenProblem(403, SUSPENDED, reseller)
    # Kept as long as the leeway still accepts the token, so it stays single use all that time.
    expires_at = datetime.fromtimestamp(exp + CLOCK_SKEW_SECONDS + 1, timezone.utc).replace(tzinfo=None)
    try:
        models.use_embed_token(reseller, jti, expires_at)
    except RuleError:
        raise TokenProblem(401, USED, reseller)
    models.audit("embed_sign_in", contact, f"{contact.name} signed in through {reseller.name}'s partner site",
                 {"page": [None, path or "home"]}, actor=contact)
    return contact, reseller, claims


def sign_token(contact: Contact, path: str | None = None, seconds: int | None = None) -> str:
    """A sign-in token for the contact, signed like a partner's server does (CLI and tests)."""
    seconds = seconds if seconds is not None else current_app.config["EMBED_TOKEN_MAX_SECONDS"]
    claims = {"sub": contact.email, "exp": int(time.time()) + seconds, "jti": secrets.token_urlsafe(16)}
    if path:
        claims["path"] = path
    return jwt.encode(claims, contact.reseller.embed_secret, algorithm="HS256")


def sso_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}{url_for('embed.sso')}?{urlencode({'token': token})}"
