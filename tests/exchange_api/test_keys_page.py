"""The API keys page and `flask keys`: create (secret shown once), list, revoke, journal, CSRF,
and clear refusals of bad input that write nothing."""
from __future__ import annotations

import re

import pytest
from conftest import csrf_token_in, sign_in_with_csrf
from sqlalchemy import func, select

from dashboard.accounts.store import create_account
from dashboard.exchange_api.key_store import create_key, secret_box
from dashboard.extensions import db
from dashboard.models import ApiKey, ApiKeyEvent

SECRET_ON_PAGE = re.compile(r'<code id="secret">([^<]+)</code>')
ACCESS_KEY_ON_PAGE = re.compile(r'<code id="access-key">([^<]+)</code>')


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(ApiKey)),
            db.session.scalar(select(func.count()).select_from(ApiKeyEvent)),
        )


def events(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.event, e.source) for e in db.session.execute(select(ApiKeyEvent).order_by(ApiKeyEvent.id)).scalars()]


def create_on_page(client, allowed: str = "", read_balances: bool = True):
    data = {"allowed_addresses": allowed}
    if read_balances:
        data["read_balances"] = "y"
    return client.post("/api-keys", data=data)


# The page.

def test_page_needs_sign_in(client):
    response = client.get("/api-keys")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/api-keys", data={"read_balances": "y"}).status_code == 302


def test_menu_links_to_the_page_on_every_signed_in_page(client, signed_in):
    for path in ("/", "/api-keys"):
        html = signed_in.get(path).get_data(as_text=True)
        assert 'href="/api-keys"' in html and ">API keys</a>" in html, path
    assert 'aria-current="page"' in signed_in.get("/api-keys").get_data(as_text=True)


def test_menu_link_is_not_shown_when_signed_out(client):
    assert 'href="/api-keys"' not in client.get("/login").get_data(as_text=True)


def test_create_shows_the_secret_once_and_stores_it_encrypted(app, signed_in):
    response = create_on_page(signed_in)
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    secret = SECRET_ON_PAGE.search(html).group(1)
    access_key = ACCESS_KEY_ON_PAGE.search(html).group(1)
    assert len(secret) == 43 and re.fullmatch(r"[A-Za-z0-9]{16}", access_key)
    assert "shown only this once" in html
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        key = db.session.execute(select(ApiKey)).scalar_one()
        assert key.access_key == access_key and key.permissions == "balance:read" and key.allowed_addresses == ""
        assert secret not in key.encrypted_secret
        assert secret_box().decrypt(key.encrypted_secret) == secret
    assert events(app) == [("created", "web")]

    listing = signed_in.get("/api-keys").get_data(as_text=True)
    assert access_key in listing and secret not in listing
    assert "Read balances" in listing and "Not used yet" in listing


def test_each_key_has_its_own_access_key_and_secret(app, signed_in):
    first = create_on_page(signed_in).get_data(as_text=True)
    second = create_on_page(signed_in).get_data(as_text=True)
    assert SECRET_ON_PAGE.search(first).group(1) != SECRET_ON_PAGE.search(second).group(1)
    assert ACCESS_KEY_ON_PAGE.search(first).group(1) != ACCESS_KEY_ON_PAGE.search(second).group(1)
    assert counts(app) == (2, 2)


def test_allowed_addresses_are_stored_normalised(app, signed_in):
    response = create_on_page(signed_in, "192.0.2.10\r\n2001:DB8::/32, 10.0.0.0/8\n192.0.2.10/32")
    assert response.status_code == 201
    assert "192.0.2.10, 2001:db8::/32, 10.0.0.0/8" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(ApiKey.allowed_addresses)).scalar_one() == "192.0.2.10 2001:db8::/32 10.0.0.0/8"


@pytest.mark.parametrize(
    "allowed, words",
    [
        ("192.0.2.1/24", "192.0.2.1/24"),
        ("not-an-ip\n10.0.0.1\n300.1.1.1", "not-an-ip, 300.1.1.1"),
        ("example.com", "example.com"),
        ("\n".join(f"10.0.0.{i}" for i in range(51)), "at most 50"),
        ("1" * 5000, "too long"),
    ],
)
def test_bad_allowed_addresses_are_refused_and_nothing_is_created(app, signed_in, allowed, words):
    response = create_on_page(signed_in, allowed)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html and words in html
    assert 'id="secret"' not in html
    assert counts(app) == (0, 0)


def test_a_key_needs_a_permission(app, signed_in):
    response = create_on_page(signed_in, read_balances=False)
    assert response.status_code == 400
    assert "Choose at least one permission" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def revoked_at(app, access_key: str):
    with app.app_context():
        return db.session.execute(select(ApiKey.revoked_at).where(ApiKey.access_key == access_key)).scalar_one()


def test_revoke(app, signed_in):
    access_key = ACCESS_KEY_ON_PAGE.search(create_on_page(signed_in).get_data(as_text=True)).group(1)
    assert f'name="access_key" value="{access_key}"' in signed_in.get("/api-keys").get_data(as_text=True)
    response = signed_in.post("/api-keys/revoke", data={"access_key": access_key})
    assert response.status_code == 302 and response.headers["Location"].endswith("/api-keys")
    page = signed_in.get("/api-keys").get_data(as_text=True)
    assert "has been revoked" in page and "Revoked" in page
    assert f'name="access_key" value="{access_key}"' not in page  # no button for a revoked key
    assert revoked_at(app, access_key) is not None
    assert events(app) == [("created", "web"), ("revoked", "web")]

    # Again: nothing changes and the journal does not grow.
    signed_in.post("/api-keys/revoke", data={"access_key": access_key})
    assert "already revoked" in signed_in.get("/api-keys").get_data(as_text=True)
    assert events(app) == [("created", "web"), ("revoked", "web")]


def test_another_accounts_key_cannot_be_revoked_or_seen(app, signed_in):
    with app.app_context():
        other = create_account("other@example.com", "password123")
        new = create_key(other.id, source="cli")
        db.session.commit()
        access_key = new.key.access_key
    assert access_key not in signed_in.get("/api-keys").get_data(as_text=True)
    for data in ({"access_key": access_key}, {"access_key": "NoSuchKey0000000"}, {"access_key": "bad key!"}, {}):
        assert signed_in.post("/api-keys/revoke", data=data).status_code == 404, data
    assert revoked_at(app, access_key) is None
    assert events(app) == [("created", "cli")]


CSRF_ON = {"WTF_CSRF_ENABLED": True}




@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_create_needs_the_csrf_token(app, client, demo):
    sign_in_with_csrf(client)
    refused = client.post("/api-keys", data={"read_balances": "y"})
    assert refused.status_code == 400 and "did not come from this site" in refused.get_data(as_text=True)
    assert counts(app) == (0, 0)
    token = csrf_token_in(client.get("/api-keys").get_data(as_text=True))
    assert client.post("/api-keys", data={"read_balances": "y", "csrf_token": token}).status_code == 201
    assert counts(app) == (1, 1)


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_revoke_needs_the_csrf_token(app, client, demo):
    sign_in_with_csrf(client)
    token = csrf_token_in(client.get("/api-keys").get_data(as_text=True))
    created = client.post("/api-keys", data={"read_balances": "y", "csrf_token": token}).get_data(as_text=True)
    access_key = ACCESS_KEY_ON_PAGE.search(created).group(1)
    assert client.post("/api-keys/revoke", data={"access_key": access_key}).status_code == 400
    assert revoked_at(app, access_key) is None
    page = client.get("/api-keys").get_data(as_text=True)
    assert client.post("/api-keys/revoke", data={"access_key": access_key, "csrf_token": csrf_token_in(page)}).status_code == 302
    assert revoked_at(app, access_key) is not None


# The CLI.

@pytest.fixture
def customer(app):
    with app.app_context():
        create_account("customer@example.com", "password123")
        db.session.commit()
    return "customer@example.com"


def cli_create(runner, *args):
    result = runner.invoke(args=["keys", "create", *args])
    assert result.exit_code == 0, result.output
    access_key = re.search(r"^access key: (\S+)$", result.output, re.M).group(1)
    secret = re.search(r"^secret: (\S+)$", result.output, re.M).group(1)
    return access_key, secret


def test_cli_create_prints_the_access_key_and_secret(app, runner, customer):
    access_key, secret = cli_create(runner, "Customer@Example.com", "--allow", "192.0.2.0/24", "--allow", "2001:db8::1")
    with app.app_context():
        key = db.session.execute(select(ApiKey)).scalar_one()
        assert key.access_key == access_key and key.account.email == customer
        assert secret_box().decrypt(key.encrypted_secret) == secret and secret not in key.encrypted_secret
        assert key.allowed_address_list == ["192.0.2.0/24", "2001:db8::1"]
    assert events(app) == [("created", "cli")]


@pytest.mark.parametrize("allowed", ["bogus", "192.0.2.1/24", "10.0.0.1,nope"])
def test_cli_create_refuses_bad_addresses(app, runner, customer, allowed):
    result = runner.invoke(args=["keys", "create", customer, "--allow", allowed])
    assert result.exit_code != 0
    assert "not an IP address or network" in result.output and "secret" not in result.output
    assert counts(app) == (0, 0)


def test_cli_create_refuses_an_unknown_email(app, runner):
    result = runner.invoke(args=["keys", "create", "nobody@example.com"])
    assert result.exit_code != 0 and "no account with the email nobody@example.com" in result.output
    assert counts(app) == (0, 0)


def test_cli_list_shows_keys_but_never_secrets(runner, customer):
    first, first_secret = cli_create(runner, customer)
    second, second_secret = cli_create(runner, customer, "--allow", "192.0.2.7")
    result = runner.invoke(args=["keys", "list", customer])
    assert result.exit_code == 0
    assert first in result.output and second in result.output and "allowed: 192.0.2.7" in result.output
    assert first_secret not in result.output and second_secret not in result.output
    assert result.output.count("active") == 2 and "last used: never" in result.output


def test_cli_list_of_an_account_without_keys_and_of_an_unknown_email(runner, customer):
    assert "has no API keys" in runner.invoke(args=["keys", "list", customer]).output
    result = runner.invoke(args=["keys", "list", "nobody@example.com"])
    assert result.exit_code != 0 and "no account" in result.output


def test_cli_revoke(app, runner, customer):
    access_key, _secret = cli_create(runner, customer)
    result = runner.invoke(args=["keys", "revoke", access_key])
    assert result.exit_code == 0 and f"revoked API key {access_key} of {customer}" in result.output
    assert "revoked 20" in runner.invoke(args=["keys", "list", customer]).output
    again = runner.invoke(args=["keys", "revoke", access_key])
    assert again.exit_code != 0 and "already revoked" in again.output
    assert events(app) == [("created", "cli"), ("revoked", "cli")]


@pytest.mark.parametrize("access_key", ["NoSuchKey0000000", "bad key!", "x" * 500])
def test_cli_revoke_refuses_an_unknown_key(app, runner, customer, access_key):
    cli_create(runner, customer)
    result = runner.invoke(args=["keys", "revoke", access_key])
    assert result.exit_code != 0 and "no API key" in result.output
    assert events(app) == [("created", "cli")]


@pytest.mark.parametrize("statement", ["UPDATE api_key_events SET source = 'web'", "DELETE FROM api_key_events"])
def test_the_key_journal_is_append_only(app, runner, customer, statement):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    access_key, _secret = cli_create(runner, customer)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert events(app) == [("created", "cli")]
