"""The command line: seed demo, resellers create, users create."""
import pytest
from sqlalchemy import func, select

from extensions import db
from models import Company, Contact, OutboxMessage, PasswordToken, Reseller, Room


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def test_seed_demo_is_idempotent_and_prints_logins(runner):
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    assert "staff@northwind.example" in first.output and "demo-password" in first.output
    counts = [_count(m) for m in (Reseller, Company, Contact, Room)]
    second = runner.invoke(args=["seed", "demo"])
    assert second.exit_code == 0, second.output
    assert [_count(m) for m in (Reseller, Company, Contact, Room)] == counts


def test_seed_demo_queues_no_welcome_mail(runner):
    """Every demo login has its password already, so the seed sends no "set your password" links."""
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    assert _count(OutboxMessage) == 0 and _count(PasswordToken) == 0


def test_seed_demo_logins_work(runner, client, auth):
    runner.invoke(args=["seed", "demo"])
    auth.login("staff@northwind.example", "demo-password")
    assert "Acme Dental" in client.get("/companies").text


def test_resellers_create_prints_secret(runner):
    result = runner.invoke(args=["resellers", "create", "Eastwind", "--origin", "https://partner.example"])
    assert result.exit_code == 0, result.output
    reseller = db.session.execute(select(Reseller).where(Reseller.name == "Eastwind")).scalar_one()
    assert f"Embed secret: {reseller.embed_secret}" in result.output
    assert reseller.origins == ["https://partner.example"]
    # its own company, of type Reseller
    assert reseller.own_company is not None and reseller.own_company.type == "Reseller"


def test_resellers_create_duplicate_refused(runner):
    runner.invoke(args=["resellers", "create", "Eastwind"])
    result = runner.invoke(args=["resellers", "create", "eastwind"])
    assert result.exit_code != 0 and "already exists" in result.output
    assert _count(Reseller) == 1


def test_users_create_reseller_user_can_log_in(runner, client, auth):
    runner.invoke(args=["resellers", "create", "Eastwind"])
    result = runner.invoke(args=["users", "create", "boss@eastwind.example", "--role", "reseller",
                                 "--password-stdin", "--reseller", "Eastwind"], input="a long password\n")
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(Contact).where(Contact.email == "boss@eastwind.example")).scalar_one()
    assert user.roles == {"reseller"} and user.company.type == "Reseller"
    assert user.password_hash.startswith("scrypt:")  # werkzeug's default
    auth.login("boss@eastwind.example", "a long password")
    assert client.get("/companies").status_code == 200


@pytest.mark.parametrize("role, extra", [("reseller", ["--reseller", "Eastwind"]), ("administrator", [])])
def test_users_create_password_stdin_queues_no_password_link(runner, role, extra):
    """The password is set from standard input, so no "set your password" welcome link goes out too
    (a live link would let whoever reads that mailbox replace the password just set)."""
    runner.invoke(args=["resellers", "create", "Eastwind"])
    result = runner.invoke(args=["users", "create", "set@eastwind.example", "--role", role, "--password-stdin", *extra],
                           input="a long password\n")
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(Contact).where(Contact.email == "set@eastwind.example")).scalar_one()
    assert user.check_password("a long password")
    assert db.session.execute(select(OutboxMessage).where(OutboxMessage.recipients == user.email)).first() is None
    assert db.session.execute(select(PasswordToken).where(PasswordToken.contact_id == user.id)).first() is None


def test_users_create_administrator(runner):
    result = runner.invoke(args=["users", "create", "root@vendor.example", "--role", "administrator",
                                 "--password-stdin"], input="a long password\n")
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(Contact).where(Contact.email == "root@vendor.example")).scalar_one()
    assert user.roles == {"administrator"} and user.company_id is None


def test_users_create_bad_input(runner):
    runner.invoke(args=["resellers", "create", "Eastwind"])
    no_reseller = runner.invoke(args=["users", "create", "x@e.example", "--role", "reseller", "--password-stdin"],
                                input="a long password\n")
    assert no_reseller.exit_code != 0 and "--reseller" in no_reseller.output
    unknown = runner.invoke(args=["users", "create", "x@e.example", "--role", "reseller", "--password-stdin",
                                  "--reseller", "Nope"], input="a long password\n")
    assert unknown.exit_code != 0 and "No reseller named Nope" in unknown.output
    short = runner.invoke(args=["users", "create", "x@e.example", "--role", "administrator", "--password-stdin"],
                          input="short\n")
    assert short.exit_code != 0 and "at least 8" in short.output
    bad_email = runner.invoke(args=["users", "create", "not-an-email", "--role", "administrator", "--password-stdin"],
                              input="a long password\n")
    assert bad_email.exit_code != 0 and "valid email" in bad_email.output
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar() == 0
