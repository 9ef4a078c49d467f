"""Creating accounts, shared by the CLI and the demo seed."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update

from dashboard.extensions import db
from dashboard.models import Account, normalize_email

MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class AccountError(ValueError):
    """A request to create an account that cannot be honoured; the message says why."""


def check_email(email: str) -> str:
    """The address by email-validator's rules (RFC 5321/5322 syntax, no quoted local parts, a
    real-looking domain), without asking DNS: delivery is the real test of an address."""
    email = normalize_email(email)
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(f"not a valid email address: {email[:80]!r} ({error})") from None
    return normalize_email(checked.normalized)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must have at most {MAX_PASSWORD} characters")


def find_account(email: str) -> Account | None:
    return db.session.execute(select(Account).where(Account.email == normalize_email(email))).scalar_one_or_none()


def create_account(email: str, password: str) -> Account:
    email = check_email(email)
    check_password(password)
    if find_account(email) is not None:
        raise AccountError(f"an account with the email {email} already exists")
    account = Account(email=email)
    account.set_password(password)
    db.session.add(account)
    db.session.flush()
    return account


def save_settings(account_id: int, **settings) -> None:
    """Store the signed-in account's own choices (language, prompt, the wallet's switches, hidden amounts) and commit.

    The request's account is a read-only snapshot (see signed_in.py), so changes are written
    here by id rather than on it."""
    allowed = {"preferred_language", "never_prompt_language", "show_net_assets_in_header", "hide_zero_balances", "discreet",
               "balance_order", "hide_small_balances", "small_balance_jpy", "cost_method"}
    if not settings or set(settings) - allowed:
        raise ValueError(f"not an account setting: {sorted(set(settings) - allowed)}")
    db.session.execute(update(Account).where(Account.id == account_id).values(**settings))
    db.session.commit()
