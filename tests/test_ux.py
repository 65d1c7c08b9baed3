"""Server side of the portal's UX: a new row kept in view (?show=), the save's "changed" trigger, the Add room
flow that goes on to the Hosts, empty states that say what to do next."""
import json

from . import factories


def triggers(resp):
    return json.loads(resp.headers["HX-Trigger"])


def test_show_keeps_a_row_in_view_that_the_sort_puts_elsewhere(reseller_client, world):
    for i in range(30):
        factories.company(world.a.reseller, f"Bulk {i:02d}")
    last = factories.company(world.a.reseller, "Zulu Works")
    rows = reseller_client.get("/companies", htmx=True, headers={"HX-Target": "company-rows"}).text
    assert f'id="company-{last.id}"' not in rows  # page 2 by name
    rows = reseller_client.get(f"/companies?show={last.id}", htmx=True, headers={"HX-Target": "company-rows"}).text
    assert rows.count(f'id="company-{last.id}"') == 1


def test_show_ignores_another_tenants_row_and_nonsense(reseller_client, world):
    for value in (world.b.company.id, "abc", 2**40):
        resp = reseller_client.get(f"/companies?show={value}", htmx=True, headers={"HX-Target": "company-rows"})
        assert resp.status_code == 200
        assert world.b.company.name not in resp.text
    for path, other in (("/contacts", world.b.contacts[0]), ("/rooms", world.b.team)):
        assert other.name not in reseller_client.get(f"{path}?show={other.id}").text


def test_a_save_names_the_row_it_added(reseller_client, world):
    resp = reseller_client.post("/companies", data={"name": "Fresh Co", "type": "Business", "status": "prospect"}, htmx=True)
    events = triggers(resp)
    assert events["changed"].startswith("company-") and list(events).index("changed") < list(events).index("companies-changed")


def test_add_room_from_a_company_page_goes_on_to_its_hosts(reseller_client, world):
    company = world.a.company
    form = reseller_client.get(f"/rooms/new?company_id={company.id}&then=hosts", htmx=True).text
    assert 'name="then" value="hosts"' in form
    data = {"company_id": company.id, "name": "Next Step Room", "product_type": "team room", "status": "trial", "then": "hosts"}
    resp = reseller_client.post("/rooms", data=data, htmx=True)
    assert resp.status_code == 200 and 'id="room-hosts"' in resp.text and "Link contact" in resp.text
    assert "Added room Next Step Room" in triggers(resp)["toast"]
    plain = dict(data, name="Plain Room", then="")
    assert reseller_client.post("/rooms", data=plain, htmx=True).text == ""


def test_empty_lists_say_what_to_do_next(reseller_client, world):
    empty = factories.company(world.a.reseller, "Empty Co")
    text = reseller_client.get(f"/rooms?company={empty.id}").text
    assert "No rooms match" in text  # a company filter is a filter
    text = reseller_client.get("/rooms?q=nothing-like-this").text
    assert "No rooms match “nothing-like-this”. Change the search or the filters." in text


def test_pages_have_a_skip_link_and_a_dialog_for_the_panel(reseller_client):
    text = reseller_client.get("/companies").text
    assert '<a class="skip-link" href="#main">Skip to content</a>' in text
    assert '<dialog id="panel-dialog">' in text and 'id="list-status"' in text and 'id="busy"' not in text


def test_contacts_show_the_name_as_they_sort_it_and_their_roles(reseller_client, world):
    company = world.a.company
    factories.contact(company, first="Zoe", last="Adams")
    factories.contact(company, first="Adam", last="Zorn")
    owen = factories.owner(company, last="Mills")
    host = world.a.contacts[0]  # hosts A Team
    rows = reseller_client.get(f"/contacts?company={company.id}", htmx=True, headers={"HX-Target": "contact-rows"}).text
    page = reseller_client.get(f"/contacts?company={company.id}").text
    assert "Name (last, first)" in page and "<th>Roles</th>" in page
    assert rows.index(">Adams, Zoe<") < rows.index(">Zorn, Adam<")  # sorted by what is shown
    row = lambda c: rows.split(f'id="contact-{c.id}"')[1].split("<tr")[0]  # noqa: E731
    assert f">{owen.last_name}, Owen<" in row(owen) and "</span><td>owner<td" in row(owen)
    assert "</span><td>host<td>" in row(host)


def test_view_as_is_marked_read_only_and_its_refusal_toast_goes(reseller_client, world):
    owner = factories.owner(world.a.company)
    assert 'view-as' not in reseller_client.get("/contacts").text.split("<body", 1)[1].split(">", 1)[0]
    assert reseller_client.post(f"/view-as/{owner.id}").status_code == 303
    body = reseller_client.get("/contacts").text.split("<body", 1)[1].split(">", 1)[0]
    assert "view-as" in body  # portal.css hides the edit controls under body.view-as
    css = reseller_client.get("/static/portal.css").text
    rule = css[css.index("body.view-as main form"):].split("}", 1)[0]
    for control in ('form[method="post"] button', "details.menu", "a.button.primary", '[hx-post]:not(form)'):
        assert control in rule, control
    resp = reseller_client.post(f"/rooms/{world.a.team.id}", data={"name": "Hijacked"}, htmx=True)
    assert resp.status_code == 403 and 'class="notice error-toast brief"' in resp.text  # not sticky
    assert "error-toast:not(.brief)" in reseller_client.get("/static/portal.js").text
    reseller_client.post("/view-as/stop")
    resp = reseller_client.post(f"/rooms/{world.a.team.id}", data={"name": ""}, htmx=True)
    assert "brief" not in resp.text
