"""Plain factory functions. They write through the model layer, like the app does."""
from types import SimpleNamespace

import models
from extensions import db

from werkzeug.security import generate_password_hash

PASSWORD = "correct horse battery"
# Hashing is slow on purpose (scrypt); hash the shared test password once.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_n = {"i": 0}


def _next() -> int:
    _n["i"] += 1
    return _n["i"]


def reseller(name=None, origins=()):
    r = models.create_reseller(name or f"Reseller {_next()}", list(origins))
    db.session.commit()
    return r


def staff(reseller, email=None, role="reseller"):
    user = models.create_user(email or f"staff{_next()}@r{reseller.id}.example", role, None, reseller)
    user.password_hash = PASSWORD_HASH
    db.session.commit()
    return user


def admin(email=None):
    user = models.create_user(email or f"admin{_next()}@vendor.example", "administrator", None, None)
    user.password_hash = PASSWORD_HASH
    db.session.commit()
    return user


def company(reseller, name=None, **kw):
    data = {"name": name or f"Company {_next()}", "type": "Business", "status": "customer", **kw}
    c = models.create_company(reseller.id, data)
    db.session.commit()
    return c


def contact(company, first="Pat", last=None, email=None, password=PASSWORD, **kw):
    i = _next()
    data = {"first_name": first, "last_name": last or f"Person{i}", "email": email or f"p{i}@c{company.id}.example", **kw}
    c = models.create_contact(company, data)
    if password == PASSWORD:
        c.password_hash = PASSWORD_HASH
    elif password:
        c.set_password(password)
    db.session.commit()
    return c


def room(company, name=None, product_type="team room", status="trial", **kw):
    r = models.create_room(company, {"name": name or f"Room {_next()}", "product_type": product_type, "status": status, **kw})
    db.session.commit()
    return r


def link(room, contact):
    h = models.link(room, contact)
    db.session.commit()
    return h


def tenant(label):
    r = reseller(f"Reseller {label}")
    s = staff(r, email=f"staff@{label.lower()}.example")
    c = company(r, f"{label} Corp")
    people = [contact(c, first=f"{label}{i}") for i in range(2)]
    team = room(c, f"{label} Team", "team room", "trial")
    personal = room(c, f"{label} Personal", "personal room", "paid subscriber")
    link(team, people[0])
    return SimpleNamespace(reseller=r, staff=s, company=c, contacts=people, team=team, personal=personal)


def world():
    return SimpleNamespace(a=tenant("A"), b=tenant("B"))


def owner(company, **kw):
    """A contact of ``company`` raised to Owner."""
    c = contact(company, first="Owen", **kw)
    models.set_roles(c, {"owner"})
    db.session.commit()
    return c
