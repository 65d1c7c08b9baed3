"""One of the concurrent writers of tests/test_sqlite_concurrency.py: its own process and app on the
SQLite file, creating a company with a contact per transaction through the domain functions until
the time is up. Prints one JSON line: {"ok": n, "locked": n, "other": [messages]}."""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

import models  # noqa: E402
from app import create_app  # noqa: E402
from config import TestConfig  # noqa: E402
from extensions import db  # noqa: E402


def main(url: str, worker: int, reseller_id: int, seconds: float, start_at: float) -> None:
    app = create_app(type("T", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    ok, locked, other = 0, 0, []
    with app.app_context():
        time.sleep(max(0.0, start_at - time.time()))  # all writers start together
        end = time.time() + seconds
        i = 0
        while time.time() < end:
            i += 1
            try:
                # as in a request: a read first (the user, the list), then the writes, in one transaction
                db.session.execute(select(func.count(models.Company.id))).scalar()
                company = models.create_company(reseller_id, {"name": f"W{worker} Co {i}", "type": "Business",
                                                               "status": "customer"})
                models.create_contact(company, {"first_name": "W", "last_name": f"{worker}-{i}",
                                                "email": f"w{worker}.{i}@writers.example"}, welcome=False)
                db.session.commit()
                ok += 1
            except models.RuleError as err:
                db.session.rollback()
                (locked := locked + 1) if "busy" in err.message.lower() else other.append(err.message)
            except OperationalError as err:
                db.session.rollback()
                if "locked" in str(err.orig).lower():
                    locked += 1
                else:
                    other.append(str(err.orig))
    print(json.dumps({"ok": ok, "locked": locked, "other": other[:5]}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
