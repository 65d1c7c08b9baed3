"""What every resource screen (companies, contacts, rooms) does alike, asserted once per resource:
the list as a page and as a fragment, login, paging, sort and history restore, the add and edit
screens, bad input, CSRF, stale edits, the delete confirm and the guards on unknown and oversized ids.

Each resource is a ``Resource``: its URLs, element ids, forms and the texts its screens show."""
import html
import re
from dataclasses import dataclass
from typing import Callable

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Company, Contact, Room

from . import factories
from .conftest import page_text

HUGE = "99999999999999999999"  # beyond any integer column: once a 500 (driver overflow)


@dataclass(frozen=True)
class Resource:
    path: str  # "/companies"
    singular: str  # element ids: "company-table", "company-form", "company-list-state"
    model: type
    own: Callable  # (world) -> text of reseller A's row in the list
    foreign: Callable  # (world) -> text of reseller B's row, never shown to A
    row: Callable  # (world) -> a row of reseller A to edit
    doomed: Callable  # (world) -> the row of reseller A whose delete is confirmed
    new_data: Callable  # (world, **changes) -> a valid add form
    edit_data: Callable  # (row, **changes) -> a valid edit form, version included
    renamed: str  # the field the edit tests change
    kept: tuple  # the fields a refused edit must leave as they were
    edit_block: str  # the element id of the edit answer
    edit_screen: str  # the element id of the edit screen's fragment
    edit_parts: Callable  # (world) -> what the edit page shows
    paged: Callable  # (world, i) -> adds row i for the paging test
    paged_label: Callable  # (i) -> how row i shows in the list
    sort: str  # a sort key other than the default
    new_url: Callable  # (world) -> the add form's URL
    created: Callable  # (world) -> the row new_data added
    created_location: Callable  # (world, row) -> where a plain-form add goes
    impact: Callable  # (world) -> the delete confirm's impact sentence
    index_parts: tuple = ()  # more texts the list page shows
    new_shows: Callable = lambda world: []  # more texts the add form shows
    new_hides: Callable = lambda world: []  # texts it must not show
    given_bad_input: Callable = lambda world: None
    given_delete: Callable = lambda world: None
    unknown_writes: tuple = ()  # more (path, data) on unknown ids that must be 404
    oversized: tuple = ()  # more paths with HUGE that must be 404


COMPANIES = Resource(
    path="/companies",
    singular="company",
    model=Company,
    own=lambda w: "A Corp",
    foreign=lambda w: "B Corp",
    row=lambda w: w.a.company,
    doomed=lambda w: w.a.company,
    new_data=lambda w, **kw: {"name": "New Co", "type": "Business", "status": "customer", **kw},
    edit_data=lambda c, **kw: {"name": c.name, "type": c.type, "status": c.status, "version": c.version, **kw},
    renamed="name",
    kept=("name", "type", "status", "version"),
    edit_block="company-form",
    edit_screen="company-form",
    edit_parts=lambda w: [w.a.contacts[0].email, 'id="company-form"'],
    paged=lambda w, i: factories.company(w.a.reseller, f"Paged {i:02}"),
    paged_label=lambda i: f"Paged {i:02}",
    sort="-created",
    new_url=lambda w: "/companies/new",
    created=lambda w: db.session.execute(select(Company).where(Company.name == "New Co")).scalar_one(),
    created_location=lambda w, c: "/companies",
    impact=lambda w: "2 contacts and 2 rooms",
)

CONTACTS = Resource(
    path="/contacts",
    singular="contact",
    model=Contact,
    own=lambda w: w.a.contacts[0].email,
    foreign=lambda w: w.b.contacts[0].email,
    row=lambda w: w.a.contacts[1],
    doomed=lambda w: w.a.contacts[0],
    new_data=lambda w, **kw: {"first_name": "Nora", "last_name": "New", "email": "nora@new.example",
                              "phone": "+44 20 1234", "company_id": w.a.company.id, **kw},
    edit_data=lambda c, **kw: {"first_name": c.first_name, "last_name": c.last_name, "email": c.email,
                               "phone": c.phone or "", "state": c.state, "version": c.version, **kw},
    renamed="first_name",
    kept=("first_name", "last_name", "email", "state", "version"),
    edit_block="contact-form",
    edit_screen="contact-screen",
    edit_parts=lambda w: ['id="contact-screen"', 'id="contact-form"', 'id="contact-rooms"'],
    paged=lambda w, i: factories.contact(w.a.company, first="Paged", last=f"P{i:02}", email=f"paged{i:02}@p.example"),
    paged_label=lambda i: f"paged{i:02}@p.example",
    sort="-email",
    new_url=lambda w: "/contacts/new",
    new_shows=lambda w: ['id="contact-company_id"', "A Corp"]
    + [f">{label}</label>" for label in ("First name", "Last name", "Email", "Phone", "Company")],
    new_hides=lambda w: ["B Corp"],
    created=lambda w: db.session.execute(select(Contact).where(Contact.email == "nora@new.example")).scalar_one(),
    created_location=lambda w, c: f"/contacts/{c.id}/edit",
    impact=lambda w: f"Deletes contact {w.a.contacts[0].name} with 1 host link (A Team).",
    index_parts=('<label for="contact-search">Search</label>', 'hx-push-url="true"'),
    # a contact of ANOTHER reseller owns the duplicate email: emails are unique in the whole system
    given_bad_input=lambda w: factories.contact(w.b.company, email="a0@example.test"),
    oversized=(f"/contacts/new?company_id={HUGE}",),
)

ROOMS = Resource(
    path="/rooms",
    singular="room",
    model=Room,
    own=lambda w: "A Team",
    foreign=lambda w: "B Team",
    row=lambda w: w.a.team,
    doomed=lambda w: w.a.team,
    new_data=lambda w, **kw: {"name": "Board Room", "product_type": "team room", "status": "trial",
                              "company_id": w.a.company.id, **kw},
    edit_data=lambda r, **kw: {"name": r.name, "product_type": r.product_type, "status": r.status,
                               "version": r.version, **kw},
    renamed="name",
    kept=("name", "slug", "version"),
    edit_block="room-detail",
    edit_screen="room-detail",
    edit_parts=lambda w: ['id="room-detail"', 'id="room-hosts"', 'id="room-settings"'],
    paged=lambda w, i: factories.room(w.a.company, f"Paged {i:02}"),
    paged_label=lambda i: f"Paged {i:02}",
    sort="-end",
    new_url=lambda w: f"/rooms/new?company_id={w.a.company.id}",
    new_shows=lambda w: [f'name="company_id" value="{w.a.company.id}"', "Company: A Corp"]
    + [f">{label}</label>" for label in ("Name", "Product type", "Status", "End date", "Meeting link",
                                         "Max participants", "PIN", "Lobby", "Recording")],
    created=lambda w: db.session.execute(select(Room).where(Room.name == "Board Room")).scalar_one(),
    created_location=lambda w, r: f"/rooms/{r.id}/edit",
    impact=lambda w: "Deletes room A Team with 2 host links.",
    index_parts=('<label for="room-search">Search</label>', "Add room", "A Personal"),
    given_delete=lambda w: factories.link(w.a.team, w.a.contacts[1]),
    unknown_writes=(("/rooms/999999/hosts", lambda w: {"contact_id": w.a.contacts[1].id}),),
    oversized=(f"/rooms/new?company_id={HUGE}",),
)

RESOURCES = [pytest.param(r, id=r.path.strip("/")) for r in (COMPANIES, CONTACTS, ROOMS)]


def count(r: Resource) -> int:
    return db.session.execute(select(func.count()).select_from(r.model)).scalar()


# ---------------------------------------------------------------- list


@pytest.mark.parametrize("r", RESOURCES)
def test_index_full_page_and_fragment(reseller_client, world, r):
    full = reseller_client.get(r.path)
    assert full.status_code == 200
    assert "<html" in full.text and f'id="{r.singular}-table"' in full.text
    for part in r.index_parts:
        assert part in full.text
    assert r.own(world) in full.text and r.foreign(world) not in full.text
    frag = reseller_client.get(r.path, htmx=True)
    assert frag.status_code == 200
    assert "<html" not in frag.text and f'id="{r.singular}-table"' in frag.text and r.own(world) in frag.text
    assert "HX-Request" in frag.headers["Vary"]


@pytest.mark.parametrize("r", RESOURCES)
def test_index_requires_login(client, world, r):
    resp = client.get(r.path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get(r.path, htmx=True).status_code == 401


@pytest.mark.parametrize("r", RESOURCES)
def test_index_pages(reseller_client, world, r):
    for i in range(30):
        r.paged(world, i)
    first, last = r.paged_label(0), r.paged_label(29)
    # A search pages by number within its (capped) matches, and says how many there are.
    text = reseller_client.get(f"{r.path}?q=paged&sort=name").text
    assert first in text and last not in text and "30 matches" in text and ">Next<" in text and ">Previous<" not in text
    for htmx in (False, True):
        text = reseller_client.get(f"{r.path}?q=paged&sort=name&page=2", htmx=htmx).text
        assert last in text and first not in text and "page 2" in text and ">Next<" not in text and ">Previous<" in text


@pytest.mark.parametrize("r", RESOURCES)
@pytest.mark.parametrize("sort", ["name", "-name", "created", "-created", "own", "-status"])
def test_index_keyset_pages_next_and_previous(reseller_client, world, r, sort):
    """Without a search: Next and Previous carry the last (first) row's id and sort value in the URL,
    walk every row once in order, and come back to the same pages."""
    if sort == "own":
        sort = r.sort  # -created, -email, -end
    if sort == "-status" and r.model is Contact:
        sort = "-state"
    for i in range(30):
        r.paged(world, i)
    htmx = {"HX-Target": f"{r.singular}-rows"}
    resp = reseller_client.get(f"{r.path}?sort={sort}&per_page=7")
    pages, seen = [], []
    while True:
        text = resp.text
        rows = re.findall(rf'<tr id="{r.singular}-(\d+)"', text)
        pages.append((resp.request.full_path, rows))
        seen += rows
        nxt = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-push-url="true" rel="next">Next<', text)
        if not nxt:
            break
        resp = reseller_client.get(html.unescape(nxt.group(1)), htmx=True, headers=htmx)
        assert "<html" not in resp.text and "<thead" not in resp.text and 'id="{}-list-state"'.format(r.singular) not in resp.text
    assert len(seen) == len(set(seen)) == count(r) - count_foreign(world, r)
    # Previous from the last page gives the page before it again
    prev = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-push-url="true" rel="prev">Previous<', resp.text)
    back = reseller_client.get(html.unescape(prev.group(1)), htmx=True, headers=htmx)
    assert re.findall(rf'<tr id="{r.singular}-(\d+)"', back.text) == pages[-2][1]


def count_foreign(world, r) -> int:
    """Rows of reseller B, which A's list never shows."""
    model = r.model
    return db.session.execute(select(func.count()).select_from(model).where(model.reseller_id == world.b.reseller.id)).scalar()


@pytest.mark.parametrize("r", RESOURCES)
def test_index_fragment_carries_sort_for_the_toolbar(reseller_client, world, r):
    """The sort input travels with the table, so a search or filter after sorting keeps the sort."""
    sort_input = f'name="sort" value="{r.sort}" form="{r.singular}-list-state"'
    frag = reseller_client.get(f"{r.path}?sort={r.sort}", htmx=True)
    assert "<html" not in frag.text and sort_input in frag.text
    full = reseller_client.get(f"{r.path}?sort={r.sort}")
    assert f'id="{r.singular}-list-state"' in full.text


@pytest.mark.parametrize("r", RESOURCES)
def test_index_history_restore_gets_full_page(reseller_client, world, r):
    """htmx keeps no history cache (historyCacheSize 0): Back re-requests the URL and must get the page."""
    resp = reseller_client.get(f"{r.path}?q=A&sort={r.sort}", htmx=True, headers={"HX-History-Restore-Request": "true"})
    assert resp.status_code == 200 and "<html" in resp.text and 'value="A"' in resp.text
    assert f'id="{r.singular}-list-state"' in resp.text
    assert f'name="sort" value="{r.sort}" form="{r.singular}-list-state"' in resp.text


# ---------------------------------------------------------------- add


@pytest.mark.parametrize("r", RESOURCES)
def test_new_full_and_fragment(reseller_client, world, r):
    full = reseller_client.get(r.new_url(world))
    assert full.status_code == 200 and "<html" in full.text and f'id="{r.singular}-form"' in full.text
    frag = reseller_client.get(r.new_url(world), htmx=True)
    assert frag.status_code == 200 and "<html" not in frag.text and f'id="{r.singular}-form"' in frag.text
    for part in r.new_shows(world):
        assert part in frag.text
    for part in r.new_hides(world):
        assert part not in frag.text


@pytest.mark.parametrize("r", RESOURCES)
def test_create_plain_form_redirects(reseller_client, world, r):
    resp = reseller_client.post(r.path, data=r.new_data(world))
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(r.created_location(world, r.created(world)))


BAD_INPUT = [
    (COMPANIES, {"name": ""}, "name", "Name is required"),
    (COMPANIES, {"name": "x" * 121}, "name", "at most 120"),
    (COMPANIES, {"name": "a corp"}, "name", "already exists"),
    (COMPANIES, {"type": "Spaceship"}, "type", "Type must be one of"),
    (COMPANIES, {"status": "lead"}, "status", "Customer status must be one of"),
    (COMPANIES, {"type": "Reseller"}, "type", "Only the reseller"),
    (CONTACTS, {"first_name": "  "}, "first_name", "First name is required"),
    (CONTACTS, {"last_name": ""}, "last_name", "Last name is required"),
    (CONTACTS, {"last_name": "x" * 121}, "last_name", "at most 120"),
    (CONTACTS, {"first_name": "y" * 500}, "first_name", "at most 120"),
    (CONTACTS, {"email": "not-an-email"}, "email", "This email cannot be used"),
    # one address is one recipient: no list separators or display-name syntax
    (CONTACTS, {"email": "me@mine.example,bcc"}, "email", "This email cannot be used"),
    (CONTACTS, {"email": '"me"<x>@mine.example'}, "email", "This email cannot be used"),
    (CONTACTS, {"first_name": "Pat\nYour new password is 1234"}, "first_name", "on one line"),
    (CONTACTS, {"email": ""}, "email", "Email is required"),
    (CONTACTS, {"email": "A0@EXAMPLE.TEST"}, "email", "This email cannot be used"),
    (CONTACTS, {"phone": "call me maybe"}, "phone", "Phone may contain"),
    (CONTACTS, {"company_id": ""}, "company_id", "Choose the company"),
    (ROOMS, {"name": ""}, "name", "Name is required"),
    (ROOMS, {"name": "x" * 121}, "name", "at most 120"),
    (ROOMS, {"product_type": "meeting room"}, "product_type", "Product type must be one of"),
    (ROOMS, {"status": "free"}, "status", "Status must be one of"),
    (ROOMS, {"slug": "Bad Slug!"}, "slug", "a–z, 0–9 and single hyphens"),
    (ROOMS, {"slug": "x" * 61}, "slug", "up to 60 characters"),
    (ROOMS, {"slug": "a-team"}, "slug", "cannot be used. Try a-team-2."),
    (ROOMS, {"slug": "b-team"}, "slug", "cannot be used. Try b-team-2."),
    (ROOMS, {"pin": "12ab"}, "pin", "PIN must be 4 to 10 digits"),
    (ROOMS, {"pin": "123"}, "pin", "PIN must be 4 to 10 digits"),
    (ROOMS, {"max_participants": "1"}, "max_participants", "between 2 and 1000"),
    (ROOMS, {"max_participants": "1001"}, "max_participants", "between 2 and 1000"),
    (ROOMS, {"max_participants": "many"}, "max_participants", "whole number"),
    (ROOMS, {"end_date": "2026-02-30"}, "end_date", "End date must be a date"),
    (ROOMS, {"end_date": "next week"}, "end_date", "End date must be a date"),
    (ROOMS, {"end_date": "2000-01-01"}, "end_date", "cannot be before the room was created"),
]


@pytest.mark.parametrize(
    "r, changes, field, message",
    [pytest.param(*case, id=f"{case[0].path.strip('/')}-{case[2]}-{i}") for i, case in enumerate(BAD_INPUT)],
)
def test_create_bad_input(reseller_client, world, r, changes, field, message):
    r.given_bad_input(world)
    before = count(r)
    resp = reseller_client.post(r.path, data=r.new_data(world, **changes), htmx=True)
    assert resp.status_code == 422
    assert message in resp.text and f'id="{r.singular}-{field}-error"' in resp.text
    assert "<html" not in resp.text and f'id="{r.singular}-form"' in resp.text
    assert count(r) == before


@pytest.mark.parametrize("r", RESOURCES)
def test_create_without_csrf_is_refused(reseller_client, world, r):
    before = count(r)
    data = r.new_data(world)
    resp = reseller_client.post(r.path, data=data, csrf=False)
    assert resp.status_code == 400 and "expired" in resp.text
    resp = reseller_client.post(r.path, data=data, headers={"X-CSRFToken": "stale.token.value"})
    assert resp.status_code == 400
    assert count(r) == before


# ---------------------------------------------------------------- edit


@pytest.mark.parametrize("r", RESOURCES)
def test_edit_full_and_fragment(reseller_client, world, r):
    url = f"{r.path}/{r.row(world).id}/edit"
    full = reseller_client.get(url)
    assert full.status_code == 200 and "<html" in full.text
    for part in r.edit_parts(world):
        assert part in full.text
    frag = reseller_client.get(url, htmx=True)
    assert frag.status_code == 200 and "<html" not in frag.text and f'id="{r.edit_screen}"' in frag.text


def kept(r: Resource, row) -> tuple:
    db.session.refresh(row)
    return tuple(getattr(row, name) for name in r.kept)


@pytest.mark.parametrize("r", RESOURCES)
def test_update_plain_form_redirects(reseller_client, world, r):
    row = r.row(world)
    resp = reseller_client.post(f"{r.path}/{row.id}", data=r.edit_data(row, **{r.renamed: "Plain"}))
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{r.path}/{row.id}/edit")
    db.session.refresh(row)
    assert getattr(row, r.renamed) == "Plain"


UPDATE_BAD_INPUT = [
    (COMPANIES, {"name": ""}, "name", "Name is required"),
    (COMPANIES, {"status": "lead"}, "status", "Customer status must be one of"),
    (CONTACTS, {"first_name": ""}, "first_name", "First name is required"),
    (CONTACTS, {"last_name": "z" * 121}, "last_name", "at most 120"),
    (CONTACTS, {"email": "two@@example"}, "email", "This email cannot be used"),
    (CONTACTS, {"state": "asleep"}, "state", "State must be one of"),
    (ROOMS, {"name": ""}, "name", "Name is required"),
    (ROOMS, {"product_type": "hall"}, "product_type", "Product type must be one of"),
    (ROOMS, {"status": "gold"}, "status", "Status must be one of"),
    (ROOMS, {"slug": "UPPER_case"}, "slug", "single hyphens"),
    (ROOMS, {"slug": "a-personal"}, "slug", "cannot be used. Try a-personal-2."),
    (ROOMS, {"pin": "pin!"}, "pin", "4 to 10 digits"),
    (ROOMS, {"max_participants": "0"}, "max_participants", "between 2 and 1000"),
    (ROOMS, {"end_date": "31/12/2030"}, "end_date", "End date must be a date"),
]


@pytest.mark.parametrize(
    "r, changes, field, message",
    [pytest.param(*case, id=f"{case[0].path.strip('/')}-{case[2]}-{i}") for i, case in enumerate(UPDATE_BAD_INPUT)],
)
def test_update_bad_input(reseller_client, world, r, changes, field, message):
    row = r.row(world)
    before = kept(r, row)
    resp = reseller_client.post(f"{r.path}/{row.id}", data=r.edit_data(row, **changes), htmx=True)
    assert resp.status_code == 422
    assert message in resp.text and f'id="{r.singular}-{field}-error"' in resp.text
    assert "<html" not in resp.text and f'id="{r.edit_block}"' in resp.text
    assert kept(r, row) == before


@pytest.mark.parametrize("r", RESOURCES)
def test_update_without_csrf_is_refused(reseller_client, world, r):
    row = r.row(world)
    before = kept(r, row)
    resp = reseller_client.post(f"{r.path}/{row.id}", data=r.edit_data(row, **{r.renamed: "Sneaky"}), csrf=False,
                                htmx=True)
    assert resp.status_code == 400
    assert kept(r, row) == before


@pytest.mark.parametrize("r", RESOURCES)
def test_update_stale_version_is_409(reseller_client, world, r):
    row = r.row(world)
    url = f"{r.path}/{row.id}"
    stale = r.edit_data(row)
    reseller_client.post(url, data={**stale, r.renamed: "First edit"}, htmx=True)
    resp = reseller_client.post(url, data={**stale, r.renamed: "Second edit"}, htmx=True)
    assert resp.status_code == 409 and "changed by someone else" in resp.text
    assert f'id="{r.edit_block}"' in resp.text
    db.session.refresh(row)
    assert getattr(row, r.renamed) == "First edit"


# ---------------------------------------------------------------- delete


@pytest.mark.parametrize("r", RESOURCES)
def test_confirm_delete_shows_impact(reseller_client, world, r):
    r.given_delete(world)
    url = f"{r.path}/{r.doomed(world).id}/delete"
    frag = reseller_client.get(url, htmx=True)
    assert frag.status_code == 200 and 'id="delete-confirm"' in frag.text and "<html" not in frag.text
    assert r.impact(world) in page_text(frag)
    full = reseller_client.get(url)
    assert "<html" in full.text and 'id="delete-confirm"' in full.text


def exists(r: Resource, row_id) -> bool:
    return db.session.execute(select(func.count()).select_from(r.model).where(r.model.id == row_id)).scalar() == 1


@pytest.mark.parametrize("r", RESOURCES)
def test_delete_plain_form_redirects(reseller_client, world, r):
    row_id = r.row(world).id
    resp = reseller_client.post(f"{r.path}/{row_id}/delete")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(r.path)
    assert not exists(r, row_id)


@pytest.mark.parametrize("r", RESOURCES)
def test_delete_without_csrf_is_refused(reseller_client, world, r):
    before = count(r)
    row_id = r.doomed(world).id
    assert reseller_client.post(f"{r.path}/{row_id}/delete", csrf=False).status_code == 400
    assert count(r) == before and exists(r, row_id)



# ---------------------------------------------------------------- ids that are not there


@pytest.mark.parametrize("r", RESOURCES)
def test_unknown_id_is_404(reseller_client, world, r):
    assert reseller_client.get(f"{r.path}/999999/edit").status_code == 404
    assert reseller_client.get(f"{r.path}/999999/delete").status_code == 404
    assert reseller_client.post(f"{r.path}/999999/delete", htmx=True).status_code == 404
    assert reseller_client.post(f"{r.path}/999999", data=r.edit_data(r.row(world)), htmx=True).status_code == 404
    for path, data in r.unknown_writes:
        assert reseller_client.post(path, data=data(world)).status_code == 404
    # while a real id with an unknown query parameter is fine
    assert reseller_client.get(f"{r.path}/{r.row(world).id}/edit?x=1").status_code == 200


@pytest.mark.parametrize("r", RESOURCES)
def test_oversized_numbers_are_not_500(reseller_client, world, r):
    cases = [(f"{r.path}?page={HUGE}", 200), (f"{r.path}?per_page={HUGE}", 200),
             (f"{r.path}/{HUGE}/edit", 404), (f"{r.path}/{HUGE}/delete", 404)]
    for path, status in cases + [(path, 404) for path in r.oversized]:
        resp = reseller_client.get(path)
        assert resp.status_code == status, path
        assert "<html" in resp.text, path
