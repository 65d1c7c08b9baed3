"""Request helpers shared by every blueprint: the fragment renderer, list state and write responses."""
from __future__ import annotations

import json
from flask import Flask, make_response, redirect, render_template, request
from flask_login import current_user
from jinja2_fragments.flask import render_block, render_blocks
from sqlalchemy import Select, event, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from extensions import db
from listing import ListArgs
from models import Reseller, Role, RuleError, explain


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """A targeted htmx request gets the block; boosted requests and history restores get the page."""
    return is_htmx() and request.headers.get("HX-Boosted") != "true" \
        and request.headers.get("HX-History-Restore-Request") != "true"


def render(template: str, block: str | list[str], status: int = 200, headers: dict | None = None, **ctx):
    """The block (or blocks) for a targeted htmx request, the full page otherwise."""
    if wants_fragment():
        if isinstance(block, list):
            body = render_blocks(template, block, **ctx)
        else:
            body = render_block(template, block, **ctx)
    else:
        body = render_template(template, **ctx)
    resp = make_response(body, status)
    resp.headers["Vary"] = "HX-Request"
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def done(message: str, events: list[str], fallback: str, status: int = 200, body: str = "", undo: str | None = None,
         changed: str | None = None):
    """Answer a successful write.

    htmx: ``body`` (often empty, so an outerHTML swap removes the form or row), a toast,
    and events that other regions listen for to refresh themselves. Plain form: 303.
    ``undo``: the URL that undoes a destructive write (a Trash restore). The toast then offers
    *Undo* for about 10 seconds (the ``toast-undo`` event, right after ``toast``; static/portal.js).
    ``changed`` is the id of the row the write added or changed ("company-12"): portal.js asks the
    list's refresh to keep it in view (``?show=``, keep_shown) and gives it the focus and a highlight.
    """
    if not is_htmx():
        return redirect(fallback, 303)
    resp = make_response(body, status)
    trigger = {"toast": message}
    if changed:  # before the events: the refreshes they start read it
        trigger["changed"] = changed
    if undo:
        trigger["toast-undo"] = undo
    trigger.update({name: True for name in events})
    resp.headers["HX-Trigger"] = json.dumps(trigger)
    resp.headers["Vary"] = "HX-Request"
    return resp


def render_delete_confirm(thing: str, impact: str, action: str, cancel: str, blocked: str | None = None):
    """The delete confirmation: what goes with the object first, then the button (or why it cannot go)."""
    return render("confirm_delete.html", "delete_confirm", thing=thing, impact=impact, action=action, cancel=cancel,
                  blocked=blocked)


def form_error(template: str, block: str, err: RuleError, **ctx):
    """Roll back and send the form block again with the message next to its field.

    ``ctx`` may already hold ``form`` and ``errors`` (a screen's defaults): the submitted values
    and the message take their place."""
    db.session.rollback()
    ctx.update(errors={err.field or "_form": err.message}, form=request.form)
    return render(template, block, status=err.status, **ctx)


def check_field(template: str, block: str, name: str, check, **ctx):
    """The inline check as the user types: the field's block again, with the save's refusal next to it
    (422) or without one (200). Nothing is saved: a check only reads, and the request's session ends without
    a commit. No rollback here: it would expire the signed-in user, whom the fragment then loads again."""
    value = request.values.get(name, "")
    errors = {}
    try:
        check(value)
    except RuleError as err:
        errors[name] = err.message
    body = render_block(template, block, form={name: value}, errors=errors, **ctx)  # a fragment, htmx or not
    resp = make_response(body, 422 if errors else 200)
    resp.headers["Vary"] = "HX-Request"
    return resp


def check_attrs(url: str) -> dict:
    """The attributes that make a field re-check itself with ``url`` as the user types (macros/forms.html ``extra``)."""
    return {"hx-get": url, "hx-trigger": "input changed delay:400ms", "hx-target": "closest .field",
            "hx-swap": "outerHTML", "hx-sync": "this:replace"}


def _is_admin() -> bool:
    return current_user.is_authenticated and current_user.has_role(Role.ADMINISTRATOR)


def admin_resellers() -> list[tuple[int, str]]:
    """(id, name) of every reseller for an administrator (the Reseller column and filter); [] for anyone else."""
    return [tuple(r) for r in db.session.execute(select(Reseller.id, Reseller.name).order_by(Reseller.name))] \
        if _is_admin() else []


def for_reseller(stmt: Select, args: "ListArgs", column) -> Select:
    """An administrator's Reseller filter (``?reseller=<id>``); others see their own tenant anyway."""
    reseller_id = args.filters.get("reseller")
    return stmt.where(column == reseller_id) if reseller_id is not None and _is_admin() else stmt


def render_list(template: str, name: str, **ctx):
    """A list screen: its rows and pager (blocks ``<name>_rows`` and ``<name>_pager``, the pager out of
    band) when htmx targets ``#<name>-rows`` (search, filter, Next/Previous, a refresh), the table
    (``<name>_table``, with its sortable header) for any other htmx request, the page otherwise.
    An administrator's lists also get ``resellers``: their Reseller column and filter."""
    resellers = admin_resellers()
    ctx.update(resellers=resellers, reseller_names=dict(resellers))
    if wants_fragment() and request.headers.get("HX-Target") == f"{name}-rows":
        return render(template, [f"{name}_rows", f"{name}_pager"], oob=True, **ctx)
    return render(template, f"{name}_table", oob=False, **ctx)


# ---------------------------------------------------------------- the error boundary


def error_page(status: int, title: str, message: str):
    """An error answer: the message as a toast for htmx, the error page otherwise."""
    ctx = {"status": status, "title": title, "message": message}
    if is_htmx():
        body = render_block("errors/error.html", "error_message", **ctx)
        return body, status, {"HX-Retarget": "#toast", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", **ctx), status


TITLES = {404: "Not found", 409: "Changed meanwhile", 422: "Not possible"}


def database_conflict(exc):
    """A database refusal outside a domain write (at commit, or while rendering): the same words as there.

    (The session is rolled back first: the error page is rendered from a clean transaction.)
    """
    db.session.rollback()
    err = explain(exc)
    if err is None:
        raise exc  # a real fault: the 500 handler answers it
    return error_page(err.status, TITLES.get(err.status, "Not possible"), err.message)


def register_error_boundary(app: Flask) -> None:
    """Database conflicts become answers a person can read, here and nowhere else.

    Inside a domain write, models.guarded already turns them into RuleError, which the
    views show in their form (422 naming the field, 409 when someone else changed it,
    404 when it was deleted meanwhile). Whatever is raised outside one (a commit, a
    render reading a row deleted meanwhile) gets the same words from the same
    models.explain, as an error page or toast.
    """
    for exc_class in (StaleDataError, ObjectDeletedError, IntegrityError, DataError, OperationalError):
        app.register_error_handler(exc_class, database_conflict)
    timeout = app.config.get("SQLITE_BUSY_TIMEOUT_MS")
    with app.app_context():
        engine = db.engine
    if timeout and engine.dialect.name == "sqlite":
        # Concurrent writers on SQLite wait for the write lock instead of failing at once.
        # Listened on this engine, so it runs after (and wins over) any class-wide default.
        @event.listens_for(engine, "connect")
        def _busy_timeout(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(timeout)}")
            cur.close()
