"""Request tests for the foundation: sign-in, sign-out, pages needing an account, demo data."""
from __future__ import annotations

import pytest
from conftest import sign_in
from sqlalchemy import func, select

from dashboard.extensions import db
from dashboard.models import Account, Balance, LoginSession, Rate


def test_pages_need_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_api_needs_sign_in_and_answers_json(client):
    response = client.get("/api/balance")
    assert response.status_code == 401
    assert response.is_json and response.get_json()["success"] is False


def test_login_page_has_labelled_fields(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in html
    assert '<label for="password">Password</label>' in html


def test_demo_account_signs_in_case_insensitively(client, demo):
    response = sign_in(client, email="  Demo@Example.COM ")
    assert response.location == "/"
    assert client.get("/").status_code == 200


def test_wrong_email_and_wrong_password_get_the_same_message(client, demo):
    wrong_password = client.post("/login", data={"email": "demo@example.com", "password": "nope-nope"})
    wrong_email = client.post("/login", data={"email": "nobody@example.com", "password": "demopass"})
    assert wrong_password.status_code == wrong_email.status_code == 401
    message = "Incorrect email or password."
    assert message in wrong_password.get_data(as_text=True)
    assert message in wrong_email.get_data(as_text=True)


def test_sign_out_is_a_post_and_ends_the_session_on_the_server(app, client, demo):
    sign_in(client)
    stolen_cookie = client.get_cookie("session").value
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0
    thief = app.test_client()
    thief.set_cookie("session", stolen_cookie)
    assert thief.get("/").status_code == 302


def test_seed_demo_is_idempotent(app, runner):
    app.config["ENV_NAME"] = "development"
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "demo@example.com" in first.output

    def snapshot():
        with app.app_context():
            return (
                db.session.execute(select(Account.email, Account.password_hash)).all(),
                sorted(db.session.execute(select(Balance.currency_code, Balance.available, Balance.in_use)).all()),
                sorted(db.session.execute(select(Rate.currency_code, Rate.jpy_rate, Rate.as_of)).all()),
            )

    before = snapshot()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "0 account(s) created, 0 balance(s) set, 0 rate(s) added" in second.output
    assert snapshot() == before
    accounts, balances, rates = before
    assert len(balances) == 14 and len(rates) == 13
    assert ("xem", __import__("decimal").Decimal("88.549")) in [(code, rate) for code, rate, _ in rates]


def test_users_create_prompts_for_the_password(app, runner):
    result = runner.invoke(args=["users", "create", "New@Example.com"], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        account = db.session.execute(select(Account)).scalar_one()
        assert account.email == "new@example.com"
        assert account.check_password("s3cret-pass")
        assert "s3cret-pass" not in account.password_hash


def test_users_create_refuses_bad_input(app, runner):
    assert runner.invoke(args=["users", "create", "not-an-email"], input="s3cret-pass\ns3cret-pass\n").exit_code != 0
    assert runner.invoke(args=["users", "create", "a@example.com"], input="short\nshort\n").exit_code != 0
    assert runner.invoke(args=["users", "create", "a@example.com"], input="s3cret-pass\ns3cret-pass\n").exit_code == 0
    duplicate = runner.invoke(args=["users", "create", "A@example.com"], input="s3cret-pass\ns3cret-pass\n")
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 1


@pytest.mark.parametrize(
    "args",
    [["seed-demo"], ["balances", "export"], ["rates", "list"], ["keys", "list", "demo@example.com"]],
)
def test_commands_on_a_database_not_yet_migrated_say_what_to_do(tmp_path, args):
    from conftest import make_app

    app = make_app("sqlite:///" + str(tmp_path / "empty.sqlite3"), ENV_NAME="development")
    result = app.test_cli_runner().invoke(args=args, input="")
    assert result.exit_code == 1
    assert "flask --app dashboard db upgrade" in result.output and "Traceback" not in result.output
