"""Hosting changes (Link, Unlink, Make owner, Give personal room), written once for both screens that
make them: Edit room (its Hosts, blueprints/rooms.py) and the contact screen (the rooms they host,
blueprints/contacts.py). This module has no routes: each screen keeps its URLs and guards, and
describes with a ``Panel`` the block it answers with.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block

import models
from extensions import db
from models import Contact, Room, RuleError
from permissions import can
from listing import parse_int
from web import done, render

EVENTS = ["rooms-changed"]


@dataclass
class Outcome:
    """What a change did: the toast, the events other regions refresh on, and extra block context."""

    message: str
    events: list[str] = field(default_factory=lambda: list(EVENTS))
    extra: dict = field(default_factory=dict)
    undo: str | None = None  # the restore URL the toast's Undo posts to


def link(room: Room, contact: Contact) -> Outcome:
    models.link(room, contact)
    return Outcome(f"Linked {contact.name} to {room.name}")


def unlink(room: Room, contact: Contact) -> Outcome:
    item = models.trash_link(room, contact)  # kept in the Trash, so the toast can offer Undo
    return Outcome(item.summary, EVENTS + ["trash-changed"], undo=url_for("trash.restore", item_id=item.id))


def make_owner(room: Room, contact: Contact) -> Outcome:
    models.make_owner(room, contact)
    return Outcome(f"{contact.name} is now the owner of {room.name}")


def give_personal_room(room: Room, contact: Contact) -> Outcome:
    # Who may not set the commercial terms (an Owner) gives a trial room, never better terms.
    personal = models.give_personal_room(room, contact, may_set_terms=can(current_user, "set_terms", room))
    return Outcome(f"Gave {contact.name} the personal room {personal.name}", EVENTS + ["companies-changed"],
                   {"created_room": personal, "given_to": contact})


@dataclass
class Panel:
    """The block a screen shows its hosting in, and how to draw it again after a change."""

    template: str
    block: str
    url: str  # the screen: where a plain (non-htmx) form post goes back to
    errors_name: str  # the name of the block's error dict
    picker: str  # the Link field: a refused link is explained next to it
    context: Callable[[], dict]  # everything the block needs, read after the change

    def change(self, action: Callable[[Room, Contact], Outcome], room: Room, contact: Contact, linking: bool = False):
        """Make the change in one transaction and answer with the block, or explain the refusal."""
        try:
            outcome = action(room, contact)
            db.session.commit()
        except RuleError as err:
            return self.refuse(err, linking)
        body = render_block(self.template, self.block, **{**self.context(), self.errors_name: {}, **outcome.extra})
        return done(outcome.message, outcome.events, self.url, body=body, undo=outcome.undo)

    def link_chosen(self, missing: str, pair: Callable[[int], tuple[Room, Contact]]):
        """Link what was chosen in the picker; ``pair`` turns its id into (room, contact), or 404s."""
        chosen = parse_int(request.form.get(self.picker))
        if chosen is None:
            return self.refuse(RuleError(missing), linking=True)
        return self.change(link, *pair(chosen), linking=True)

    def refuse(self, err: RuleError, linking: bool = False):
        """Roll back and show the refusal in words: next to the Link field, or above the table."""
        db.session.rollback()
        errors = {self.picker if linking else "_form": err.message}
        return render(self.template, self.block, status=err.status, **{**self.context(), self.errors_name: errors})
