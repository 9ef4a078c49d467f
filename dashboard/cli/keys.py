"""`flask keys create|list|revoke`: operators manage customers' API keys, journalled as source "cli"."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from dashboard.accounts.store import find_account
from dashboard.core.allowed_addresses import AllowedAddressError, parse_allowed, split_entries
from dashboard.core.signing import parse_access_key
from dashboard.core.terminal_text import shown
from dashboard.exchange_api.key_store import ApiKeyError, account_keys, create_key, find_key, revoke_key
from dashboard.extensions import db


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def _account_or_fail(email: str):
    account = find_account(email)
    if account is None:
        raise click.ClickException(f"no account with the email {shown(email.strip().lower()[:254])}")
    return account


@click.group(help="Manage customers' API keys for the exchange-compatible API.")
def keys():
    pass


@keys.command("create")
@click.argument("email")
@click.option("--allow", "allowed", multiple=True, metavar="ADDR",
              help="A client address or network (CIDR) that may use the key; repeat for more. Default: any.")
@with_appcontext
def create(email: str, allowed: tuple[str, ...]):
    """Create a key for the account EMAIL and print its access key and secret (shown only now)."""
    account = _account_or_fail(email)
    try:
        parse_allowed(split_entries(list(allowed)))
        new = create_key(account.id, allowed=allowed, source="cli")
        db.session.commit()
    except (AllowedAddressError, ApiKeyError) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"created API key for {shown(account.email)}")
    click.echo(f"access key: {new.key.access_key}")
    click.echo(f"secret: {new.secret}")
    click.echo("The secret is not stored in readable form and cannot be shown again.")


@keys.command("list")
@click.argument("email")
@with_appcontext
def list_keys(email: str):
    """List the account EMAIL's keys (never their secrets)."""
    account = _account_or_fail(email)
    rows = account_keys(account.id)
    if not rows:
        click.echo(f"{shown(account.email)} has no API keys")
        return
    for key in rows:
        status = f"revoked {_when(key.revoked_at)}" if key.is_revoked else "active"
        click.echo(
            f"{key.access_key}  {status}  permissions: {key.permissions or '-'}  "
            f"allowed: {' '.join(key.allowed_address_list) or 'any'}  "
            f"created: {_when(key.created_at)}  last used: {_when(key.last_used_at)}"
        )


@keys.command("revoke")
@click.argument("access_key", metavar="KEY")
@with_appcontext
def revoke(access_key: str):
    """Revoke the key whose access key is KEY: requests signed with it are refused from now on."""
    key = find_key(access_key) if parse_access_key(access_key) else None
    if key is None:
        raise click.ClickException(f"no API key {shown(access_key[:64])!r}")
    try:
        revoke_key(key, source="cli")
        db.session.commit()
    except ApiKeyError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked API key {key.access_key} of {shown(key.account.email)}")
