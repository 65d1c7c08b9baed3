"""Deterministic benchmark data: ``flask --app app seed scale --companies N [--seed S]``.

One main reseller with N client companies and, interleaved with them, 9 other resellers with N/20
companies each. Per company, on average: 10 contacts (90% live), 5 rooms (40% personal, 60% team;
demo/trial/paid 20/30/50; 85% live) and 7.5 host links. Names are drawn from lists of people,
cities, industries and project code names, so a substring search means something: ``lisb`` matches
about 0.5% of rooms, ``okaf`` about 0.4% of contacts, and ``kingfish`` / ``thistlew`` a handful at N=20000.

Rows go in with Core ``insert()`` executemany, a chunk of companies (with their contacts, rooms
and host links) at a time; ids are assigned here, so children reference them without a round trip.
Only the resellers and the reseller user go through the domain (and its audit trail).
Same seed and same ``today`` → the same rows.
"""
from __future__ import annotations

import random
import re
import unicodedata
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, insert, select, text

import models
from extensions import db
from models import search_index
from models import Company, Contact, ContactState, Hosting, ProductType, Reseller, Role, Room, RoomStatus

PASSWORD = "demo-password"
MAIN_RESELLER = "Atlas Connect"
OTHER_RESELLERS = ["Borealis Telecom", "Cobalt Comms", "Driftwood AV", "Ember Networks", "Fjord Systems",
                   "Granite Voice", "Halcyon IT", "Ironbark Digital", "Juniper Links"]
STAFF_EMAIL = "staff@atlas-connect.example"
OTHERS_PER_MAIN = 20  # each other reseller has N/20 companies
CHUNK = 250  # companies per insert round

FIRST = """Aaliyah Aarav Abdul Ada Adebayo Adriana Agnieszka Ahmed Aiko Aisha Akira Alejandro Aleksandr Alice Amara
Amelia Ana Anders Andrea Ann Anna Antoine Arjun Astrid Aurora Ayumi Bao Beatriz Benjamin Bjorn Bogdan Camila Carlos
Catalina Chen Chiara Chloe Chukwuma Claire Colm Dagny Daniel Dario David Deepika Diego Dmitri Elena Elif Elijah Emeka
Emil Emma Erik Esther Ewa Fatima Felix Fernanda Finn Francesca Freya Gabriel Giulia Grace Gustavo Hana Hannah Hassan
Helga Hiroshi Hugo Ibrahim Ines Ingrid Isabel Ivan Jakub Jamal James Jana Javier Jin Joao Johan Jorge Jose Julia
Kai Kamala Karim Katarzyna Kenji Khadija Kofi Lars Laura Leila Leon Li Liam Lina Lucas Lucia Luis Magnus Maja
Malik Mara Marco Maria Mariam Mateo Matteo Mei Mia Mikael Min Mohammed Nadia Naoko Nia Nikolai Nina Noah Nora
Oksana Olga Oliver Omar Oscar Paolo Pedro Pia Priya Rafael Rahul Ravi Rosa Ruth Sakura Samir Sara Sebastian Sergei
Sofia Sven Tanvir Tariq Thandiwe Theo Tomas Ugo Valentina Vera Victor Wei Wilhelmina Xavier Yara Yusuf Zainab Zofia""".split()

LAST = """Abara Adeyemi Aguilar Ahmadi Alvarez Andersen Antonelli Bakker Banerjee Barros Becker Bergstrom Bianchi Bjork
Brennan Brown Campbell Cardoso Castillo Chatterjee Chen Chowdhury Costa Cruz Dahl Dang Das Delacroix Diaz Dimitrov
Dubois Dunne Eriksson Esposito Evans Falk Farouk Fernandes Ferrari Fischer Fitzgerald Fontaine Fujita Gallagher
Garcia Gonzalez Gruber Gupta Haddad Hansen Hartmann Hassan Hoffmann Horvath Hughes Ibrahim Ito Ivanova Jansen
Jensen Johansson Jovanovic Kaminski Kapoor Kato Kaur Keller Khan Kim Kowalczyk Kozlov Kruger Kumar Larsen Laurent
Lee Lehmann Lindqvist Lopez Lund Macharia Mahlangu Marino Martins Mazur Meier Mendes Moreau Morozov Muller Murphy
Mwangi Nakamura Navarro Nguyen Nielsen Novak Nowak Nunez Obi Oconnell Odhiambo Okafor Oliveira Olsen Ortiz Osei
Ozturk Pacheco Park Patel Pereira Petrov Pham Popescu Quinn Rahman Ramos Reddy Reyes Ricci Rossi Sato Schmidt
Schneider Silva Singh Sokolov Suzuki Svensson Takahashi Tanaka Tran Vasquez Vogel Wagner Walsh Wang Weber Wojcik
Yamamoto Yilmaz Yusuf Zhang Zielinski""".split()

CITIES = """Aarhus Accra Adelaide Amsterdam Ankara Antwerp Athens Auckland Austin Baltimore Bangalore Barcelona Basel
Belfast Belgrade Bergen Berlin Bilbao Birmingham Bogota Bologna Bordeaux Boston Bratislava Bremen Brighton Brisbane
Bristol Brno Brussels Bucharest Budapest Cairo Calgary Cambridge Cardiff Casablanca Chennai Chicago Cologne
Copenhagen Cork Dakar Dallas Delhi Denver Dresden Dublin Durban Edinburgh Eindhoven Florence Frankfurt Galway
Gdansk Geneva Genoa Ghent Glasgow Gothenburg Granada Graz Hamburg Hanoi Helsinki Houston Innsbruck Istanbul Jakarta
Johannesburg Kampala Kiev Krakow Kyoto Lagos Leeds Leipzig Lille Lima Lisbon Liverpool Ljubljana Lyon Madrid
Malaga Malmo Manchester Marseille Melbourne Milan Montreal Mumbai Munich Nairobi Nantes Naples Nice Oslo Ottawa
Oxford Palermo Paris Perth Porto Prague Quito Reykjavik Riga Rome Rotterdam Salzburg Santiago Seattle Seoul Seville
Sheffield Singapore Sofia Split Stockholm Stuttgart Sydney Tallinn Tampere Tbilisi Tokyo Toronto Toulouse Trieste
Turin Utrecht Valencia Vancouver Venice Verona Vienna Vilnius Warsaw Wellington Winnipeg Wroclaw Zagreb Zurich""".split()

INDUSTRY = """Accounting Architects Bakery Biotech Builders Catering Clinic Consulting Dental Design Dynamics Energy
Engineering Foods Freight Health Hospitality Insurance Labs Legal Logistics Media Medical Motors Optics Pharma
Physio Printing Properties Realty Recruitment Robotics Solar Software Studios Surveyors Textiles Therapy Trading
Travel Ventures Veterinary Wellness""".split()
SUFFIX = ["Ltd", "Group", "Partners", "& Co", "Associates", "Collective", "Institute", "Foundation", "Trust",
          "Cooperative", "Holdings", "Agency", "School", "Academy", "Council", ""]
ADJECTIVE = """Amber Blue Bright Cedar Clear Copper Crimson Golden Green Harbor Iron Maple Meadow North Oak Pine
Quiet Red River Silver Stone Summit True West Willow""".split()
NOUN = """Bridge Brook Field Forge Garden Gate Grove Hill Lantern Mill Orchard Peak Ridge Springs Tower Valley
Works Yard""".split()
PROJECTS = """Andromeda Apollo Aquila Atlas Aurora Basalt Beacon Cassini Cirrus Comet Condor Cypress Delta Ember
Falcon Fathom Gemini Glacier Halo Helix Horizon Hyperion Juno Kepler Lynx Magellan Meridian Nebula Neptune Nimbus
Nova Obsidian Odyssey Onyx Orbit Orion Pegasus Phoenix Polaris Pulsar Quartz Raven Sequoia Sierra Sirius Solstice
Sparrow Tempest Titan Triton Vega Vortex Zenith Zephyr""".split()
TEAM_WORD = ["Standup", "Weekly", "Sync", "Review", "Planning", "Retro", "Kickoff", "War Room", "Huddle", "All Hands"]
ROOM_KIND = ["Boardroom", "Meeting Room", "Reception", "Conference", "Training Room", "Office", "Studio", "Lounge",
             "Clinic Room", "Classroom", "Town Hall", "Help Desk"]
DEPARTMENTS = ["Sales", "Finance", "Support", "Marketing", "Engineering", "HR", "Legal", "Operations", "Design",
               "Research", "Customer Success", "Procurement", "IT", "Facilities", "Admissions", "Nursing"]
RARE_PROJECT = "Kingfisher"  # about 1 room in 10,000
RARE_LAST = "Thistlewood"  # about 1 contact in 30,000
TYPES = [("Business", 60), ("Healthcare", 15), ("Education", 10), ("Non-profit", 10), ("Government", 5)]


def ascii_word(value: str) -> str:
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", value).strip("-")


def base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _paired(rng: random.Random, index: int, total: int, mean: int, spread: int, memo: dict) -> int:
    """Counts that vary per company but sum to exactly mean × companies (pairs get +d and −d)."""
    if index == total - 1 and index % 2 == 0:
        return mean
    if index % 2 == 0:
        memo["d"] = rng.randint(0, spread)
        return mean + memo["d"]
    return mean - memo.get("d", 0)


class Generator:
    def __init__(self, seed: int, today: date):
        self.rng = random.Random(seed)
        self.today = today
        self.company_names: set[str] = set()
        self.domains: set[str] = set()
        self.memo_contacts: dict = {}
        self.memo_rooms: dict = {}
        self.total = 0  # companies in the plan

    def when(self, days_back_max: int, not_before: datetime | None = None) -> datetime:
        rng = self.rng
        moment = datetime.combine(self.today, time(0)) - timedelta(days=rng.randint(1, days_back_max),
                                                                   seconds=rng.randint(0, 86399))
        return max(moment, not_before) if not_before else moment

    def company_name(self) -> str:
        rng = self.rng
        while True:
            pick = rng.random()
            if pick < 0.5:
                name = f"{rng.choice(CITIES)} {rng.choice(INDUSTRY)} {rng.choice(SUFFIX)}"
            elif pick < 0.75:
                name = f"{rng.choice(LAST)} {rng.choice(INDUSTRY)} {rng.choice(SUFFIX)}"
            else:
                name = f"{rng.choice(ADJECTIVE)} {rng.choice(NOUN)} {rng.choice(INDUSTRY)}"
            name = " ".join(name.split())
            if name.lower() not in self.company_names:
                self.company_names.add(name.lower())
                return name

    def company(self, cid: int, reseller_id: int) -> dict:
        rng = self.rng
        name = self.company_name()
        domain = ascii_word(name)[:50]
        while domain in self.domains:
            domain = f"{domain}-{base36(cid)}"
        self.domains.add(domain)
        return {
            "id": cid, "reseller_id": reseller_id, "name": name, "name_key": name.lower(),
            "type": rng.choices([t for t, _ in TYPES], [w for _, w in TYPES])[0],
            "status": "customer" if rng.random() < 0.6 else "prospect",
            "branded": rng.random() < 0.3, "created_at": self.when(1095), "version": 1,
            "_domain": domain + ".example",
        }

    def contacts(self, company: dict, index: int, next_id) -> list[dict]:
        rng = self.rng
        out, used = [], set()
        for k in range(_paired(rng, index, self.total, 10, 7, self.memo_contacts)):
            first = rng.choice(FIRST)
            last = RARE_LAST if rng.random() < 1 / 30000 else rng.choice(LAST)
            local = f"{ascii_word(first)}.{ascii_word(last)}"
            email, n = local, 1
            while email in used:
                n += 1
                email = f"{local}{n}"
            used.add(email)
            out.append({
                "id": next_id(), "reseller_id": company["reseller_id"], "company_id": company["id"],
                "first_name": first, "last_name": last, "email": f"{email}@{company['_domain']}",
                "phone": f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(100000, 999999)}"
                if rng.random() < 0.6 else None,
                "role_names": Role.OWNER.value if k == 0 and rng.random() < 0.3 else "",
                "state": ContactState.LIVE.value if rng.random() < 0.9 else ContactState.SUSPENDED.value,
                "password_hash": None, "session_epoch": 0,
                "created_at": self.when(1095, company["created_at"]), "version": 1,
            })
        return out

    def room_name(self, product_type: str, host: dict | None) -> str:
        rng = self.rng
        if rng.random() < 1 / 10000:
            return f"{RARE_PROJECT} {rng.choice(TEAM_WORD)}"
        if product_type == ProductType.PERSONAL:
            if host is None:
                return f"{rng.choice(DEPARTMENTS)} desk"
            return rng.choice([f"{host['first_name']} {host['last_name']}'s room", f"{host['first_name']}'s room",
                               f"Dr {host['last_name']}", f"{host['last_name']} office"])
        pick = rng.random()
        if pick < 0.4:
            return f"{rng.choice(CITIES)} {rng.choice(ROOM_KIND)}"
        if pick < 0.7:
            return f"{rng.choice(['', 'Project '])}{rng.choice(PROJECTS)} {rng.choice(TEAM_WORD)}"
        return f"{rng.choice(DEPARTMENTS)} {rng.choice(ROOM_KIND + TEAM_WORD)}"

    def rooms(self, company: dict, index: int, contacts: list[dict], next_room, next_host) -> tuple[list, list]:
        rng = self.rng
        rooms, hosts = [], []
        for _ in range(_paired(rng, index, self.total, 5, 4, self.memo_rooms)):
            rid = next_room()
            ptype = ProductType.PERSONAL.value if rng.random() < 0.4 else ProductType.TEAM.value
            if ptype == ProductType.PERSONAL:
                chosen = [rng.choice(contacts)] if contacts and rng.random() < 0.95 else []
            else:
                k = rng.choices([0, 1, 2, 3], [10, 25, 35, 30])[0]
                chosen = rng.sample(contacts, min(k, len(contacts)))
            name = self.room_name(ptype, chosen[0] if chosen and ptype == ProductType.PERSONAL else None)
            status = rng.choices([RoomStatus.DEMO.value, RoomStatus.TRIAL.value, RoomStatus.PAID.value], [20, 30, 50])[0]
            if status == RoomStatus.PAID:
                end_date, created = None, self.when(1000, company["created_at"])
            else:
                length = 7 if status == RoomStatus.DEMO else 14
                offset = -rng.randint(1, 90) if rng.random() < 0.22 else rng.randint(0, length)
                end_date = self.today + timedelta(days=offset)
                created = datetime.combine(end_date - timedelta(days=length), time(rng.randint(8, 17), rng.randint(0, 59)))
            rooms.append({
                "id": rid, "reseller_id": company["reseller_id"], "company_id": company["id"], "name": name,
                "name_key": name.lower(), "product_type": ptype, "status": status,
                "suspended": rng.random() < 0.05, "created_at": created, "end_date": end_date,
                "slug": f"{ascii_word(name)[:60].strip('-') or 'room'}-{base36(rid)}",
                "max_participants": rng.choice([10, 25, 25, 50, 100]),
                "pin": str(rng.randint(100000, 999999)) if rng.random() < 0.3 else None,
                "lobby": rng.random() < 0.4, "recording": rng.random() < 0.2, "version": 1,
            })
            for n, contact in enumerate(chosen):
                hosts.append({
                    "id": next_host(), "reseller_id": company["reseller_id"], "company_id": company["id"],
                    "room_id": rid, "contact_id": contact["id"], "room_type": ptype, "is_owner": n == 0,
                    "linked_at": max(created, contact["created_at"]) + timedelta(minutes=n + 1),
                })
        return rooms, hosts


def _counter(start: int):
    state = {"n": start}

    def next_id() -> int:
        state["n"] += 1
        return state["n"]

    return next_id


def _max_id(model) -> int:
    return db.session.execute(select(func.coalesce(func.max(model.id), 0)).execution_options(unscoped=True)).scalar()


@contextmanager
def _bulk(conn, after_ids: dict[str, int]):
    """SQLite: a larger page cache for the load (its ten indexes per table outgrow the default 2 MB) and the
    search index filled in one pass (search_index.bulk_load); the connection's cache size is put back after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MB
    try:
        with search_index.bulk_load(conn, after_ids):
            yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")


def _insert(conn, gen, plan, totals, counters, progress) -> None:
    """The companies, a chunk at a time, each with its contacts, rooms and host links: Core executemany.
    ``counters``: the next id of a company, contact, room and host link."""
    next_company, next_contact, next_room, next_host = counters
    for start in range(0, len(plan), CHUNK):
        rows = {"companies": [], "contacts": [], "rooms": [], "hostings": []}
        for index in range(start, min(start + CHUNK, len(plan))):
            company = gen.company(next_company(), plan[index])
            people = gen.contacts(company, index, next_contact)
            rooms, hosts = gen.rooms(company, index, people, next_room, next_host)
            rows["companies"].append({k: v for k, v in company.items() if not k.startswith("_")})
            rows["contacts"] += people
            rows["rooms"] += rooms
            rows["hostings"] += hosts
        for key, model in (("companies", Company), ("contacts", Contact), ("rooms", Room), ("hostings", Hosting)):
            if rows[key]:
                conn.execute(insert(model.__table__), rows[key])
                totals[key] += len(rows[key])
        if progress:
            progress(len(rows["companies"]))


def seed_scale(companies: int, seed: int = 1, today: date | None = None, progress=None) -> dict:
    """Insert the data set; returns the counts and the login. ``progress(n)`` is told of each company done."""
    if companies < 1:
        raise models.RuleError("--companies must be at least 1.", "companies")
    today = today or models.today()
    if db.session.execute(select(Reseller.id).where(Reseller.name == MAIN_RESELLER)).first():
        raise models.RuleError(f"The scale data set is already loaded (reseller {MAIN_RESELLER} exists).")
    resellers = [models.create_reseller(name) for name in [MAIN_RESELLER, *OTHER_RESELLERS]]
    models.create_user(STAFF_EMAIL, Role.RESELLER, PASSWORD, resellers[0], "Sam", "Scale")
    db.session.flush()
    gen = Generator(seed, today)
    others = max(1, companies // OTHERS_PER_MAIN)
    plan = [resellers[0].id] * companies + [r.id for r in resellers[1:] for _ in range(others)]
    gen.rng.shuffle(plan)  # interleaved: neighbouring ids belong to different resellers
    gen.total = len(plan)
    before = {model: _max_id(model) for model in (Company, Contact, Room, Hosting)}
    conn = db.session.connection()
    totals = {"companies": 0, "contacts": 0, "rooms": 0, "hostings": 0}
    with _bulk(conn, {model.__tablename__: before[model] for model in (Company, Contact, Room)}):
        _insert(conn, gen, plan, totals, [_counter(before[model]) for model in (Company, Contact, Room, Hosting)],
                progress)
    if conn.dialect.name == "postgresql":  # ids were given explicitly: move the sequences past them
        for model in (Company, Contact, Room, Hosting):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{model.__tablename__}', 'id'), "
                              f"(SELECT max(id) FROM {model.__tablename__}))"))
    db.session.commit()
    db.session.execute(text("ANALYZE"))  # planner statistics for the new volume
    if conn.dialect.name == "postgresql":
        # A bulk load leaves the GIN (pg_trgm) entries in each index's pending list, which every search
        # reads in full until (auto)vacuum merges it: 13,000 entries made a rare term take 3 ms, not 0.2.
        for (index,) in db.session.execute(text("SELECT indexrelid::regclass::text FROM pg_index JOIN pg_class c "
                                                "ON c.oid = indexrelid JOIN pg_am am ON am.oid = c.relam "
                                                "WHERE am.amname = 'gin'")).all():
            db.session.execute(text("SELECT gin_clean_pending_list(CAST(:i AS regclass))"), {"i": index})
    db.session.commit()
    return {**totals, "resellers": len(resellers), "login": STAFF_EMAIL, "password": PASSWORD,
            "main_reseller_id": resellers[0].id}
