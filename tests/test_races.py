"""Concurrent writes through a real threaded server: conflicts answer 409, 422 or 404, never 500,
and the hosting rules hold afterwards.

Every test starts a werkzeug server (threaded, like the development server) on the
test database and fires real HTTP requests at it from threads released together by
a barrier. It runs on SQLite (a file, several connections) and on PostgreSQL
(TEST_DATABASE_URL).
"""
from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest
from sqlalchemy import Integer, cast, func, select
from werkzeug.serving import make_server

from extensions import db
from models import Company, Contact, Hosting, ProductType, Room

from . import factories
from .live import QuietHandler, Recorder

ROUNDS = 20


# --------------------------------------------------------------------------- a live server and HTTP clients


@pytest.fixture(scope="module")
def server(app):
    recorder = Recorder(app)
    srv = make_server("127.0.0.1", 0, recorder, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=srv.serve_forever, name="race-server", daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_port}"
    srv.recorder = recorder
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_server_errors(server):
    server.recorder.errors.clear()
    yield
    errors, server.recorder.errors[:] = list(server.recorder.errors), []
    if errors:
        pytest.fail("The server raised:\n" + "\n".join(errors), pytrace=False)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 303 is an answer to look at, not to follow


class Browser:
    """One person's HTTP session: its own cookies and CSRF token, like a browser tab."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)
        self.csrf = ""

    def request(self, method: str, path: str, data: dict | None = None, htmx: bool = True) -> tuple[int, str]:
        body = urllib.parse.urlencode(data or {}, doseq=True).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=body, method=method)
        if htmx:
            req.add_header("HX-Request", "true")
        if method == "POST" and self.csrf:
            req.add_header("X-CSRFToken", self.csrf)
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def post(self, path: str, data: dict | None = None) -> tuple[int, str]:
        return self.request("POST", path, data)

    def login(self, email: str) -> "Browser":
        status, page = self.request("GET", "/login", htmx=False)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, _ = self.request("POST", "/login", {"email": email, "password": factories.PASSWORD,
                                                    "csrf_token": token}, htmx=False)
        assert status == 303, f"login as {email}: {status}"
        status, page = self.request("GET", "/my-rooms", htmx=False)  # a fresh session has a fresh token
        self.csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
        return self


def browsers(server, email: str, n: int) -> list[Browser]:
    return [Browser(server.url).login(email) for _ in range(n)]


def together(calls) -> list[tuple[int, str]]:
    """Run the calls in threads released at the same moment; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            answers[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported as the answer
            answers[i] = (-1, repr(exc))

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return answers


def statuses(answers) -> Counter:
    return Counter(status for status, _ in answers)


def fresh(stmt):
    """Read what the server wrote (the test's own session may still hold older copies)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.execute(stmt)


def assert_hosting_rules() -> None:
    """Every team room with Hosts has exactly one owner; a personal room has at most one Host."""
    rows = fresh(
        select(Room.id, Room.product_type, func.count(Hosting.id), func.coalesce(func.sum(cast(Hosting.is_owner, Integer)), 0))
        .join(Hosting, Hosting.room_id == Room.id, isouter=True)
        .group_by(Room.id, Room.product_type)
    ).all()
    for room_id, product_type, hosts, owners in rows:
        if product_type == ProductType.PERSONAL:
            assert hosts <= 1, f"personal room {room_id} has {hosts} Hosts"
        else:
            assert owners == (1 if hosts else 0), f"team room {room_id} has {hosts} Hosts and {owners} owners"


# --------------------------------------------------------------------------- editing and deleting


def test_eight_editors_saving_one_company_at_the_same_version(server, world):
    company = world.a.company
    version = company.version
    clients = browsers(server, world.a.staff.email, 8)
    path = f"/companies/{company.id}"
    answers = together([
        (lambda c=c, i=i: c.post(path, {"name": f"Edited {i}", "type": "Business", "status": "customer",
                                        "version": version}))
        for i, c in enumerate(clients)
    ])
    assert statuses(answers) == {200: 1, 409: 7}, statuses(answers)
    winner = next(i for i, (status, _) in enumerate(answers) if status == 200)
    for i, (status, text) in enumerate(answers):
        if status == 409:
            # the form comes back with what this person typed, and says why it was not saved
            assert "changed by someone else" in text and 'id="company-form"' in text
            assert f'value="Edited {i}"' in text
    name, stored = fresh(select(Company.name, Company.version).where(Company.id == company.id)).one()
    assert (name, stored) == (f"Edited {winner}", version + 1)


def test_a_form_without_its_version_is_refused(server, world):
    company = world.a.company
    client = browsers(server, world.a.staff.email, 1)[0]
    status, text = client.post(f"/companies/{company.id}", {"name": "Blind", "type": "Business", "status": "customer"})
    assert status == 409 and "no version" in text
    assert fresh(select(Company.name).where(Company.id == company.id)).scalar() == "A Corp"


@pytest.mark.parametrize("kind", ["company", "contact", "room"])
def test_ten_parallel_deletes_one_succeeds_the_rest_404(server, world, kind):
    company = factories.company(world.a.reseller, "Doomed Co")
    person = factories.contact(company)
    room = factories.room(company, "Doomed Room")
    factories.link(room, person)
    target = {"company": f"/companies/{company.id}/delete", "contact": f"/contacts/{person.id}/delete",
              "room": f"/rooms/{room.id}/delete"}[kind]
    clients = browsers(server, world.a.staff.email, 10)
    answers = together([lambda c=c: c.post(target) for c in clients])
    assert statuses(answers) == {200: 1, 404: 9}, statuses(answers)
    model, ident = {"company": (Company, company.id), "contact": (Contact, person.id), "room": (Room, room.id)}[kind]
    assert fresh(select(model.id).where(model.id == ident)).first() is None
    assert_hosting_rules()


# --------------------------------------------------------------------------- unique keys


def _create(kind: str, company_id: int, i: int) -> tuple[str, dict]:
    if kind == "email":
        return "/contacts", {"company_id": company_id, "first_name": f"Twin{i}", "last_name": "Race",
                             "email": "twin@race.example"}
    if kind == "slug":
        return "/rooms", {"company_id": company_id, "name": f"Race room {i}", "product_type": "team room",
                          "status": "trial", "slug": "the-one-link"}
    return "/companies", {"name": "Same Name Ltd" if i % 2 else "SAME NAME LTD", "type": "Business",
                          "status": "prospect"}


@pytest.mark.parametrize("kind, prefix, words", [
    # the check names a contact of the own tenant; the unique key (whose row won is not said) is neutral
    ("email", "contact", ("already in use by Twin", "This email cannot be used; ask the person for another.")),
    ("slug", "room", ("That meeting link cannot be used. Try the-one-link-2.",)),
    ("name", "company", ("already exists",)),
])
def test_parallel_creates_of_one_unique_value(server, world, kind, prefix, words):
    clients = browsers(server, world.a.staff.email, 8)
    requests = [_create(kind, world.a.company.id, i) for i in range(len(clients))]
    answers = together([lambda c=c, r=r: c.post(*r) for c, r in zip(clients, requests)])
    assert statuses(answers) == {200: 1, 422: 7}, statuses(answers)
    for status, text in answers:
        if status == 422:
            assert any(w in text for w in words) and f'id="{prefix}-{kind}-error"' in text, text[:2000]
    count = {
        "email": select(func.count()).select_from(Contact).where(Contact.email == "twin@race.example"),
        "slug": select(func.count()).select_from(Room).where(Room.slug == "the-one-link"),
        "name": select(func.count()).select_from(Company).where(Company.name_key == "same name ltd"),
    }[kind]
    assert fresh(count).scalar() == 1


# --------------------------------------------------------------------------- hosting


def test_twenty_parallel_links_to_one_personal_room(server, world):
    company = world.a.company
    room = factories.room(company, "Solo", "personal room", "trial")
    people = [factories.contact(company, first=f"Solo{i}") for i in range(20)]
    clients = browsers(server, world.a.staff.email, 20)
    answers = together([
        lambda c=c, path=f"/rooms/{room.id}/hosts", p=p.id: c.post(path, {"contact_id": p})
        for c, p in zip(clients, people)
    ])
    assert statuses(answers) == {200: 1, 422: 19}, statuses(answers)
    for status, text in answers:
        if status == 422:
            assert "at most one Host" in text
    hosts = fresh(select(Hosting.contact_id, Hosting.is_owner).where(Hosting.room_id == room.id)).all()
    assert len(hosts) == 1 and hosts[0].is_owner
    assert_hosting_rules()


def test_unlinking_the_owner_and_another_host_at_once_never_leaves_a_team_room_without_owner(server, world):
    company = world.a.company
    clients = browsers(server, world.a.staff.email, 2)
    seen = Counter()
    for n in range(ROUNDS):
        room = factories.room(company, f"Crowded {n}", "team room", "trial")
        owner, second, third = (factories.contact(company, first=f"R{n}x{i}") for i in range(3))
        for person in (owner, second, third):
            factories.link(room, person)
        third_id = third.id
        paths = [f"/rooms/{room.id}/hosts/{owner.id}/delete", f"/rooms/{room.id}/hosts/{second.id}/delete"]
        answers = together([lambda c=c, p=p: c.post(p) for c, p in zip(clients, paths)])
        seen.update(statuses(answers))
        assert set(statuses(answers)) <= {200, 409}, answers
        hosts = fresh(select(Hosting.contact_id, Hosting.is_owner).where(Hosting.room_id == room.id)).all()
        assert [tuple(h) for h in hosts] == [(third_id, True)], f"round {n}: {hosts}"
    assert_hosting_rules()
    assert seen[200] == 2 * ROUNDS  # the second waits for the first, then unlinks from the room as it is


def test_make_owner_and_unlink_of_the_new_owner_at_once(server, world):
    company = world.a.company
    clients = browsers(server, world.a.staff.email, 2)
    for n in range(ROUNDS // 2):
        room = factories.room(company, f"Handover {n}", "team room", "trial")
        owner, second, third = (factories.contact(company, first=f"H{n}x{i}") for i in range(3))
        for person in (owner, second, third):
            factories.link(room, person)
        paths = [f"/rooms/{room.id}/hosts/{second.id}/owner", f"/rooms/{room.id}/hosts/{second.id}/delete"]
        answers = together([lambda c=c, p=p: c.post(p) for c, p in zip(clients, paths)])
        assert set(statuses(answers)) <= {200, 409, 422}, answers
        assert_hosting_rules()


def test_raising_to_owner_while_moving_into_the_resellers_company(server, world):
    """Each check passes alone; at once they must not leave an Owner in the reseller's own company."""
    company, own = world.a.company, world.a.reseller.own_company
    own_id = own.id
    clients = browsers(server, world.a.staff.email, 2)
    for n in range(ROUNDS // 2):
        person = factories.contact(company, first=f"Climber{n}")
        paths = [(f"/contacts/{person.id}/roles", {"owner": "1"}),
                 (f"/contacts/{person.id}/change-company", {"company_id": own_id})]
        answers = together([lambda c=c, p=p: c.post(*p) for c, p in zip(clients, paths)])
        # 403: the move came first, and raising a contact of the reseller's company is not allowed
        assert set(statuses(answers)) <= {200, 403, 409, 422}, answers
        company_id, roles = fresh(select(Contact.company_id, Contact.role_names).where(Contact.id == person.id)).one()
        assert not (company_id == own_id and "owner" in roles.split()), f"round {n}: an Owner of the reseller"


def test_adding_to_a_company_while_it_is_deleted(server, world):
    clients = browsers(server, world.a.staff.email, 4)
    for n in range(ROUNDS // 4):
        doomed = factories.company(world.a.reseller, f"Vanishing {n}")
        room = factories.room(doomed, f"Vanishing room {n}")
        person = factories.contact(doomed)
        calls = [
            (f"/companies/{doomed.id}/delete", {}),
            ("/contacts", {"company_id": doomed.id, "first_name": "Late", "last_name": "Comer",
                           "email": f"late{n}@race.example"}),
            ("/rooms", {"company_id": doomed.id, "name": f"Late room {n}", "product_type": "team room",
                        "status": "trial"}),
            (f"/rooms/{room.id}/hosts", {"contact_id": person.id}),
        ]
        doomed_id = doomed.id
        answers = together([lambda c=c, p=p: c.post(*p) for c, p in zip(clients, calls)])
        assert answers[0][0] == 200, answers[0]
        assert set(statuses(answers)) <= {200, 404, 409}, answers
        assert fresh(select(func.count()).select_from(Room).where(Room.company_id == doomed_id)).scalar() == 0
        assert fresh(select(func.count()).select_from(Contact).where(Contact.company_id == doomed_id)).scalar() == 0
    assert_hosting_rules()


def test_editing_a_company_while_it_is_deleted(server, world):
    clients = browsers(server, world.a.staff.email, 5)
    for n in range(ROUNDS // 4):
        doomed = factories.company(world.a.reseller, f"Edited away {n}")
        path, version = f"/companies/{doomed.id}", doomed.version
        calls = [(f"{path}/delete", {})] + [
            (path, {"name": f"Edited away {n}.{i}", "type": "Business", "status": "customer", "version": version})
            for i in range(4)
        ]
        answers = together([lambda c=c, p=p: c.post(*p) for c, p in zip(clients, calls)])
        assert answers[0][0] == 200, answers[0]
        edits = statuses(answers[1:])
        assert set(edits) <= {200, 404, 409} and edits[200] <= 1, answers
        assert fresh(select(Company.id).where(Company.name.like(f"Edited away {n}%"))).first() is None
