import pytest

from extensions import db
from models import Company, Contact, Room

from . import factories
from .conftest import page_text


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


def test_update_company(reseller_client, world):
    c = world.a.company
    resp = reseller_client.post(f"/companies/{c.id}", data={"name": "A Corp Renamed", "type": "Government",
                                "status": "prospect", "branded": "1", "version": c.version}, htmx=True)
    assert resp.status_code == 200 and "Saved" in resp.text
    db.session.refresh(c)
    assert (c.name, c.type, c.status, c.branded) == ("A Corp Renamed", "Government", "prospect", True)


def test_update_company_duplicate_name_any_case(reseller_client, world):
    other = factories.company(world.a.reseller, "Other Name")
    resp = reseller_client.post(f"/companies/{other.id}", data={"name": "A CORP", "type": "Business", "status": "customer",
                                                                     "version": other.version}, htmx=True)
    assert resp.status_code == 422 and "already exists" in resp.text


def test_same_name_allowed_in_another_reseller(reseller_client, world):
    resp = reseller_client.post("/companies", data={"name": "B Corp", "type": "Business", "status": "customer"}, htmx=True)
    assert resp.status_code == 200


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


HUGE = "99999999999999999999"  # beyond any integer column: once a 500 (driver overflow)


