import pytest

from extensions import db
from models import Company, Contact, Room

from . import factories
from .conftest import page_text


def test_index_full_page_and_fragment(reseller_client, world):
    full = reseller_client.get("/companies")
    assert full.status_code == 200
    assert "<html" in full.text and 'id="company-table"' in full.text
    assert "A Corp" in full.text and "B Corp" not in full.text
    frag = reseller_client.get("/companies", htmx=True)
    assert "<html" not in frag.text and 'id="company-table"' in frag.text
    assert "HX-Request" in frag.headers["Vary"]


def test_index_requires_login(client):
    resp = client.get("/companies")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_index_search_filter_sort(reseller_client, world):
    factories.company(world.a.reseller, "Zeta School", type="Education", status="prospect")
    factories.company(world.a.reseller, "alpha clinic", type="Healthcare", status="customer")
    text = reseller_client.get("/companies?q=ZETA", htmx=True).text
    assert "Zeta School" in text and "alpha clinic" not in text
    text = reseller_client.get("/companies?type=Healthcare", htmx=True).text
    assert "alpha clinic" in text and "Zeta School" not in text
    text = reseller_client.get("/companies?status=prospect", htmx=True).text
    assert "Zeta School" in text and "alpha clinic" not in text
    text = page_text(reseller_client.get("/companies?sort=-name", htmx=True))
    assert text.index("Zeta School") < text.index("alpha clinic")
    text = page_text(reseller_client.get("/companies?sort=name", htmx=True))
    assert text.index("alpha clinic") < text.index("Zeta School")
    # unknown sort and filter values are ignored, not errors
    assert reseller_client.get("/companies?sort=password&type=Nope&page=x").status_code == 200


def test_index_pages(reseller_client, world):
    for i in range(30):
        factories.company(world.a.reseller, f"Paged {i:02}")
    text = reseller_client.get("/companies?q=paged&sort=name").text
    assert "Paged 00" in text and "Paged 29" not in text and "Page 1 of 2" in text
    text = reseller_client.get("/companies?q=paged&sort=name&page=2").text
    assert "Paged 29" in text and "Paged 00" not in text


def test_index_live_counts(reseller_client, world):
    text = page_text(reseller_client.get(f"/companies?q=A+Corp", htmx=True))
    # 2 live contacts; 2 live rooms (a trial and a paid one)
    assert 'data-count="contacts">2<' in text.replace(" <", "<")
    assert 'data-count="rooms">2<' in text.replace(" <", "<")


def test_create_company(reseller_client, world):
    resp = reseller_client.post("/companies", data={"name": "New Co", "type": "Education", "status": "prospect"}, htmx=True)
    assert resp.status_code == 200
    assert "companies-changed" in resp.headers["HX-Trigger"]
    c = db.session.query(Company).filter_by(name="New Co").one()
    assert (c.type, c.status, c.reseller_id) == ("Education", "prospect", world.a.reseller.id)


def test_create_company_plain_form_redirects(reseller_client, world):
    resp = reseller_client.post("/companies", data={"name": "Plain Co", "type": "Business", "status": "customer"})
    assert resp.status_code == 303


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "", "type": "Business", "status": "customer"}, "name", "Name is required"),
        ({"name": "x" * 121, "type": "Business", "status": "customer"}, "name", "at most 120"),
        ({"name": "a corp", "type": "Business", "status": "customer"}, "name", "already exists"),
        ({"name": "Ok", "type": "Spaceship", "status": "customer"}, "type", "Type must be one of"),
        ({"name": "Ok", "type": "Business", "status": "lead"}, "status", "Customer status must be one of"),
        ({"name": "Ok", "type": "Reseller", "status": "customer"}, "type", "Only the reseller"),
    ],
)
def test_create_company_bad_input(reseller_client, world, data, field, message):
    before = db.session.query(Company).count()
    resp = reseller_client.post("/companies", data=data, htmx=True)
    assert resp.status_code == 422
    assert message in resp.text and f'id="company-{field}-error"' in resp.text
    assert "<html" not in resp.text and 'id="company-form"' in resp.text
    assert db.session.query(Company).count() == before


def test_create_company_without_csrf_is_refused(reseller_client, world):
    resp = reseller_client.post("/companies", data={"name": "Sneaky", "type": "Business", "status": "customer"}, csrf=False)
    assert resp.status_code == 400 and "expired" in resp.text
    resp = reseller_client.post("/companies", data={"name": "Sneaky", "type": "Business", "status": "customer"},
                                headers={"X-CSRFToken": "stale.token.value"})
    assert resp.status_code == 400
    assert db.session.query(Company).filter_by(name="Sneaky").count() == 0


def test_new_full_and_fragment(reseller_client, world):
    assert "<html" in reseller_client.get("/companies/new").text
    frag = reseller_client.get("/companies/new", htmx=True).text
    assert "<html" not in frag and 'id="company-form"' in frag


def test_edit_full_and_fragment(reseller_client, world):
    full = reseller_client.get(f"/companies/{world.a.company.id}/edit")
    assert full.status_code == 200 and "<html" in full.text and world.a.contacts[0].email in full.text
    frag = reseller_client.get(f"/companies/{world.a.company.id}/edit", htmx=True)
    assert "<html" not in frag.text and 'id="company-form"' in frag.text


def test_update_company(reseller_client, world):
    c = world.a.company
    resp = reseller_client.post(f"/companies/{c.id}", data={"name": "A Corp Renamed", "type": "Government",
                                "status": "prospect", "branded": "1", "version": c.version}, htmx=True)
    assert resp.status_code == 200 and "Saved" in resp.text
    db.session.refresh(c)
    assert (c.name, c.type, c.status, c.branded) == ("A Corp Renamed", "Government", "prospect", True)


def test_update_company_stale_version_is_409(reseller_client, world):
    c = world.a.company
    stale = c.version
    reseller_client.post(f"/companies/{c.id}", data={"name": "First edit", "type": "Business", "status": "customer",
                         "version": stale}, htmx=True)
    resp = reseller_client.post(f"/companies/{c.id}", data={"name": "Second edit", "type": "Business",
                                "status": "customer", "version": stale}, htmx=True)
    assert resp.status_code == 409 and "changed by someone else" in resp.text
    db.session.refresh(c)
    assert c.name == "First edit"


def test_update_company_duplicate_name_any_case(reseller_client, world):
    other = factories.company(world.a.reseller, "Other Name")
    resp = reseller_client.post(f"/companies/{other.id}", data={"name": "A CORP", "type": "Business", "status": "customer",
                                                                     "version": other.version}, htmx=True)
    assert resp.status_code == 422 and "already exists" in resp.text


def test_same_name_allowed_in_another_reseller(reseller_client, world):
    resp = reseller_client.post("/companies", data={"name": "B Corp", "type": "Business", "status": "customer"}, htmx=True)
    assert resp.status_code == 200


def test_confirm_delete_shows_impact(reseller_client, world):
    resp = reseller_client.get(f"/companies/{world.a.company.id}/delete", htmx=True)
    assert resp.status_code == 200 and 'id="delete-confirm"' in resp.text and "<html" not in resp.text
    assert "2 contacts and 2 rooms" in resp.text
    assert "<html" in reseller_client.get(f"/companies/{world.a.company.id}/delete").text


def test_delete_company_removes_everything(reseller_client, world):
    cid = world.a.company.id
    resp = reseller_client.post(f"/companies/{cid}/delete", htmx=True)
    assert resp.status_code == 200 and resp.text == ""
    assert db.session.get(Company, cid) is None
    assert db.session.query(Contact).filter_by(company_id=cid).count() == 0
    assert db.session.query(Room).filter_by(company_id=cid).count() == 0
    # the other reseller is untouched
    assert db.session.get(Company, world.b.company.id) is not None


def test_reseller_company_cannot_be_deleted(reseller_client, world):
    own = world.a.reseller.own_company
    assert "cannot be deleted" in reseller_client.get(f"/companies/{own.id}/delete").text
    resp = reseller_client.post(f"/companies/{own.id}/delete", htmx=True)
    assert resp.status_code == 422 and "cannot be deleted" in resp.text
    assert db.session.get(Company, own.id) is not None


@pytest.mark.parametrize("method, path", [
    ("get", "/companies/{id}/edit"),
    ("post", "/companies/{id}"),
    ("get", "/companies/{id}/delete"),
    ("post", "/companies/{id}/delete"),
])
def test_other_resellers_company_is_404(reseller_client, world, method, path):
    url = path.format(id=world.b.company.id)
    data = {"name": "Hijack", "type": "Business", "status": "customer"}
    resp = getattr(reseller_client, method)(url, data=data) if method == "post" else reseller_client.get(url)
    assert resp.status_code == 404
    assert "B Corp" not in resp.text
    db.session.refresh(world.b.company)
    assert world.b.company.name == "B Corp"


def test_unknown_company_is_404(reseller_client, world):
    assert reseller_client.get("/companies/999999/edit").status_code == 404


def test_index_sort_by_live_counts(reseller_client, world):
    busy = factories.company(world.a.reseller, "Busy Co")
    for i in range(3):
        factories.contact(busy)
        factories.room(busy, status="paid subscriber")
    factories.company(world.a.reseller, "Empty Co")
    for key in ("contacts", "rooms"):
        text = page_text(reseller_client.get(f"/companies?sort=-{key}", htmx=True))
        assert text.index("Busy Co") < text.index("A Corp") < text.index("Empty Co")
        text = page_text(reseller_client.get(f"/companies?sort={key}", htmx=True))
        assert text.index("Empty Co") < text.index("A Corp") < text.index("Busy Co")


def test_index_history_restore_gets_full_page(reseller_client, world):
    """htmx keeps no history cache (historyCacheSize 0): Back re-requests the URL and must get the page."""
    resp = reseller_client.get("/companies?q=A&sort=-created", htmx=True, headers={"HX-History-Restore-Request": "true"})
    assert resp.status_code == 200 and "<html" in resp.text and 'value="A"' in resp.text
    assert 'name="sort" value="-created" form="company-list-state"' in resp.text


def test_index_fragment_carries_sort_for_the_toolbar(reseller_client, world):
    """The sort input travels with the table, so a search or filter after sorting keeps the sort."""
    frag = reseller_client.get("/companies?sort=-created", htmx=True)
    assert "<html" not in frag.text
    assert 'name="sort" value="-created" form="company-list-state"' in frag.text
    full = reseller_client.get("/companies?sort=-created")
    assert 'id="company-list-state"' in full.text


HUGE = "99999999999999999999"  # beyond any integer column: once a 500 (driver overflow)


@pytest.mark.parametrize("path, status", [
    (f"/companies?page={HUGE}", 200),
    (f"/companies?per_page={HUGE}", 200),
    (f"/companies/{HUGE}/edit", 404),
    (f"/companies/{HUGE}/delete", 404),
])
def test_index_and_edit_oversized_numbers_are_not_500(reseller_client, world, path, status):
    resp = reseller_client.get(path)
    assert resp.status_code == status
    assert "<html" in resp.text
