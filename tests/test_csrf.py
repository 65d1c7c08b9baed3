"""CSRF on every mutating route: each POST/PUT/PATCH/DELETE of the URL map, sent without the token by
a signed-in reseller, is refused with 400 and writes nothing. A new write route is tried automatically."""
import re

from .test_tenancy import _fill, _table_snapshot

# Writes that take a signed token instead of the CSRF token (docs/embedding.md). None today: the
# embed's signed sign-in link (embed.sso) is a GET, and "CSRF protection stays on in both modes:
# every change carries the session's CSRF token".
SIGNED_INSTEAD: dict[str, str] = {}


def test_every_write_route_without_the_csrf_token_is_400(app, reseller_client, world):
    ids = {"company_id": world.a.company.id, "contact_id": world.a.contacts[1].id, "room_id": world.a.team.id,
           "reseller_id": world.a.reseller.id}
    form = {"name": "No token", "first_name": "No", "last_name": "Token", "email": "no.token@a.example",
            "type": "Business", "status": "trial", "product_type": "team room", "roles": "owner",
            "company_id": world.a.company.id, "contact_id": world.a.contacts[1].id, "room_id": world.a.personal.id}
    before = _table_snapshot()
    tried = 0
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            if rule.endpoint in SIGNED_INSTEAD:
                continue
            url = _fill(rule, ids)
            for htmx in (False, True):
                resp = reseller_client.open(url, method=method, data=form, csrf=False, htmx=htmx)
                assert resp.status_code == 400, f"{method} {url} without a CSRF token answered {resp.status_code}"
                assert re.search("expired", resp.get_data(as_text=True)), f"{method} {url}: not the CSRF page"
            tried += 1
    assert _table_snapshot() == before
    assert tried >= 30, tried  # the map really holds the write routes
    print(f"csrf: {tried} write routes refused without the token")
