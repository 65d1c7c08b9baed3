"""permissions.can: one rule per action, unknown actions refused loudly, and the roles it reads."""
import re
from pathlib import Path

import pytest
from flask_login import AnonymousUserMixin

from models import Role
from permissions import RULES, can, roles_of

from . import factories

ROOT = Path(__file__).resolve().parent.parent


def test_can_unknown_action_raises_naming_it(world):
    with pytest.raises(ValueError, match="edit_rooms"):
        can(world.a.staff, "edit_rooms", world.a.team)


def test_can_unknown_action_raises_for_anonymous_too():
    """A misspelt action is a bug whoever asks; it never quietly reads as "no"."""
    with pytest.raises(ValueError, match="no_such_action"):
        can(AnonymousUserMixin(), "no_such_action")
    with pytest.raises(ValueError, match="no_such_action"):
        can(None, "no_such_action")


def test_can_every_action_asked_by_views_and_templates_has_a_rule():
    asked = set()
    for path in [*ROOT.glob("blueprints/*.py"), *ROOT.glob("templates/**/*.html")]:
        asked |= set(re.findall(r"\bcan\(\s*[\w.]+\s*,\s*['\"](\w+)['\"]", path.read_text()))
    assert asked, "no can() calls found"
    assert asked <= set(RULES), asked - set(RULES)


@pytest.mark.parametrize("action", sorted(RULES))
def test_can_anonymous_may_do_nothing(action, world):
    assert can(AnonymousUserMixin(), action, world.a.company) is False
    assert can(None, action) is False


def test_can_rules_follow_roles_and_reseller(world):
    a, b = world.a, world.b
    owner = factories.owner(a.company)
    host = a.contacts[0]  # owner of the team room "A Team", Host of nothing else
    assert can(a.staff, "edit_company", a.company) and not can(a.staff, "edit_company", b.company)
    assert can(owner, "edit_company", a.company) and not can(owner, "delete_company", a.company)
    assert can(host, "edit_room", a.team) and not can(host, "edit_room", a.personal)
    assert not can(host, "manage")
    assert can(factories.admin(), "set_terms", b.company) and not can(owner, "set_terms", a.company)


def test_roles_of_lists_stored_roles_then_host(world):
    owner = factories.owner(world.a.company)
    assert roles_of(world.a.staff) == [Role.RESELLER]
    assert roles_of(owner) == [Role.OWNER]
    factories.link(world.a.team, owner)
    assert roles_of(owner) == ["owner", "host"]
    assert roles_of(world.a.contacts[1]) == []
