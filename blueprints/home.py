"""Home (``/``): what needs attention. Rooms ending in the next 7 days and those that ended in the last 7,
each with its one-click actions; trials started and converted this month; prospects with no live room.
Every number links to the list filtered to it. Reseller staff see their reseller, Owners their company
(the tenant scope does that); a Host without a managing role starts on My rooms."""
from datetime import timedelta

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

import models
from extensions import db
from models import Role, lifecycle
from permissions import can
from web import done, render

bp = Blueprint("home", __name__)


@bp.before_request
@login_required
def require_login():
    pass


@bp.get("/")
def index():
    if not can(current_user, "manage"):
        return redirect(url_for("dashboard.index"))
    summary = models.home_summary()
    today = models.today()
    month = summary["month"].strftime("%Y-%m")
    links = {
        "ending": url_for("rooms.index", ends="soon", sort="end"),
        "ended": url_for("rooms.index", sort="end", **{"from": (today - timedelta(days=lifecycle.SOON_DAYS)).isoformat(),
                                                      "to": (today - timedelta(days=1)).isoformat()}),
        "started": url_for("rooms.index", started=month, sort="end"),
        "converted": url_for("rooms.index", converted=month, sort="end"),
        "prospects": url_for("companies.index", status=models.CustomerStatus.PROSPECT.value, rooms="none"),
    }
    owner = current_user.has_role(Role.OWNER) and not current_user.has_role(Role.RESELLER)
    return render("home/index.html", "home_content", s=summary, links=links, owner=owner)


@bp.post("/notices")
def notices():
    """An Owner turns their own trial-expiry notices on or off (reseller users: the reseller's Settings)."""
    if not current_user.has_role(Role.OWNER):
        abort(404)
    models.set_own_trial_notices(current_user, request.form.get("on") == "1")
    db.session.commit()
    state = "on" if current_user.trial_notices else "off"
    body = render_block("home/index.html", "home_notices", owner=True)
    return done(f"Trial notices are {state}", [], url_for("home.index"), body=body)
