"""The database schema: accounts, their sign-in sessions, currencies, balances and JPY rates."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    select,
    true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.core.journal_hash import entry_hash
from dashboard.extensions import db
from dashboard.types import ExactDecimal, UtcDateTime

ZERO = Decimal(0)


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively, so they are stored in one case."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """werkzeug's scrypt hash of password (its default method and cost). Only a test app
    (TESTING) may name a cheaper method in TEST_PASSWORD_HASH_METHOD: the suite creates and signs
    in to accounts thousands of times, and each scrypt costs a fifth of a second of CPU."""
    method = "scrypt"
    if has_app_context() and current_app.config.get("TESTING"):
        method = current_app.config.get("TEST_PASSWORD_HASH_METHOD") or method
    return generate_password_hash(password, method=method)


class Account(UserMixin, db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("balance_order IN ('value', 'name')", name="balance_order_known"),
        CheckConstraint("small_balance_jpy >= 0 AND small_balance_jpy <= 1000000000", name="small_balance_jpy_range"),
        CheckConstraint("cost_method IN ('total-average', 'moving-average')", name="cost_method_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    preferred_language: Mapped[str | None] = mapped_column(String(2))
    never_prompt_language: Mapped[bool] = mapped_column(default=False, server_default=false())
    show_net_assets_in_header: Mapped[bool] = mapped_column(default=True, server_default=true())
    hide_zero_balances: Mapped[bool] = mapped_column(default=False, server_default=false())
    # "Hide amounts": the server then sends no amount in any page or browser API answer.
    discreet: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The wallet's order ("value": largest yen value first; "name": by name) and "Hide small
    # balances": a currency worth less than small_balance_jpy (whole yen) is left out.
    balance_order: Mapped[str] = mapped_column(String(5), default="value", server_default="value")
    hide_small_balances: Mapped[bool] = mapped_column(default=False, server_default=false())
    small_balance_jpy: Mapped[int] = mapped_column(default=1000, server_default="1000")
    # How acquisition cost is computed for this account (dashboard/core/cost_basis.py):
    # "total-average" (総平均法, the NTA's default) or "moving-average" (移動平均法).
    cost_method: Mapped[str] = mapped_column(String(20), default="total-average", server_default="total-average")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    balances: Mapped[list[Balance]] = relationship(back_populates="account", cascade="all, delete-orphan")

    # Set on the instance by sign-in so Flask-Login stores the session token, not the id:
    # the cookie then names a server-side session that sign-out can delete.
    session_token = None  # not a column: the token of the request's own sign-in session

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str | None:
        return self.session_token


class LoginSession(db.Model):
    """One signed-in browser. Deleting the row signs that browser out, whatever its cookie says."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Written at most once per signed_in.touch_interval (5 minutes of a 30-minute idle limit),
    # so the idle limit holds on the server without a write on every request. Device and
    # address are for the Security page only.
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    user_agent: Mapped[str] = mapped_column(String(200), default="", server_default="")
    address: Mapped[str] = mapped_column(String(45), default="", server_default="")

    account: Mapped[Account] = relationship()

    @staticmethod
    def hash_token(token: str) -> str:
        # Only a hash is stored, so a copy of the database does not let anyone sign in.
        return hashlib.sha256(token.encode()).hexdigest()


class Currency(db.Model):
    __tablename__ = "currencies"
    __table_args__ = (
        CheckConstraint("code = lower(code)", name="code_lower_case"),
        CheckConstraint("decimals >= 0 AND decimals <= 18", name="decimals_range"),
    )

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    decimals: Mapped[int]
    display_order: Mapped[int]
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())


class Balance(db.Model):
    __tablename__ = "balances"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("in_use >= 0", name="in_use_not_negative"),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    currency_code: Mapped[str] = mapped_column(ForeignKey("currencies.code"), primary_key=True)
    available: Mapped[Decimal] = mapped_column(ExactDecimal, default=ZERO)
    in_use: Mapped[Decimal] = mapped_column(ExactDecimal, default=ZERO)

    account: Mapped[Account] = relationship(back_populates="balances")
    currency: Mapped[Currency] = relationship()


class Rate(db.Model):
    """The current JPY rate of a currency; a failed refresh leaves the last good one in place."""

    __tablename__ = "rates"
    __table_args__ = (CheckConstraint("jpy_rate > 0", name="rate_positive"),)

    currency_code: Mapped[str] = mapped_column(ForeignKey("currencies.code"), primary_key=True)
    jpy_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(200))

    currency: Mapped[Currency] = relationship()


class JournalEntry(db.Model):
    """One change to one balance, written in the same transaction as the change. Append-only:
    a database trigger refuses UPDATE and DELETE (migration 0002); each entry carries the hash
    of its contents and of the entry before it on its balance (migration 0015)."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        # The chain: entries of one balance are numbered 1, 2, 3...; two writers can never
        # both add number n, so the chain cannot fork.
        UniqueConstraint("account_id", "currency_code", "sequence", name="journal_sequence_unique"),
        # An account's latest entry in one index lookup: it versions the net-asset history.
        Index("journal_account_latest", "account_id", "id"),
        CheckConstraint("sequence >= 1", name="journal_sequence_positive"),
        CheckConstraint("available_before >= 0", name="journal_available_before_not_negative"),
        CheckConstraint("in_use_before >= 0", name="journal_in_use_before_not_negative"),
        CheckConstraint("available_after >= 0", name="journal_available_after_not_negative"),
        CheckConstraint("in_use_after >= 0", name="journal_in_use_after_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No ON DELETE CASCADE: an account with history cannot be deleted out from under it.
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    currency_code: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    sequence: Mapped[int]
    available_before: Mapped[Decimal] = mapped_column(ExactDecimal)
    in_use_before: Mapped[Decimal] = mapped_column(ExactDecimal)
    available_after: Mapped[Decimal] = mapped_column(ExactDecimal)
    in_use_after: Mapped[Decimal] = mapped_column(ExactDecimal)
    reason: Mapped[str] = mapped_column(String(200))
    # Reasons the app writes itself also carry a code and its parameters (exact strings), from
    # which the customer's activity page says them in the page's language; NULL for an
    # operator's free text, shown as written (dashboard/ledger/reasons.py).
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_params: Mapped[dict | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(200))
    # When the change took effect (an import may state a past moment) and when it was written.
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # A change carrying a key already in the journal is not applied again.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    # The hash chain (docs/security.md): SHA-256 over this entry's canonical text, which
    # includes prev_hash, the hash of the entry before it on the same balance (NULL for a
    # balance's first). Written with the entry; `balances verify` recomputes both.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    account: Mapped[Account] = relationship()

    def computed_hash(self) -> str:
        """The hash this entry's contents give after its prev_hash."""
        return entry_hash(**hashed_fields(self, self.prev_hash))


def hashed_fields(entry, previous: str | None) -> dict:
    """The columns an entry's hash covers, from anything that has them as attributes."""
    return {
        "previous": previous, "account_id": entry.account_id, "currency_code": entry.currency_code,
        "sequence": entry.sequence, "available_before": entry.available_before, "in_use_before": entry.in_use_before,
        "available_after": entry.available_after, "in_use_after": entry.in_use_after, "reason": entry.reason,
        "reason_code": entry.reason_code, "reason_params": entry.reason_params, "source": entry.source,
        "effective_at": entry.effective_at, "recorded_at": entry.recorded_at, "idempotency_key": entry.idempotency_key,
    }


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session, _context, _instances) -> None:
    """An entry added through the ORM without its hash (the ledger writes its own) is chained
    after its balance's latest entry here, so no route writes an entry outside the chain."""
    new = sorted((entry for entry in session.new if isinstance(entry, JournalEntry) and entry.hash is None),
                 key=lambda entry: (entry.account_id, entry.currency_code, entry.sequence))
    heads: dict[tuple[int, str], tuple[int, str]] = {}
    for entry in new:
        key = (entry.account_id, entry.currency_code)
        if key in heads and heads[key][0] < entry.sequence:
            previous = heads[key][1]
        else:
            with session.no_autoflush:
                previous = session.execute(
                    select(JournalEntry.hash)
                    .where(JournalEntry.account_id == entry.account_id, JournalEntry.currency_code == entry.currency_code,
                           JournalEntry.sequence < entry.sequence)
                    .order_by(JournalEntry.sequence.desc()).limit(1)
                ).scalar()
        if entry.recorded_at is None:
            entry.recorded_at = utcnow()
        entry.prev_hash = previous
        entry.hash = entry.computed_hash()
        heads[key] = (entry.sequence, entry.hash)


class RateHistory(db.Model):
    """Every rate ever written, by whatever route, with its time and source. Append-only: a
    database trigger refuses UPDATE and DELETE (migration 0007)."""

    __tablename__ = "rate_history"
    __table_args__ = (
        CheckConstraint("jpy_rate > 0", name="rate_history_positive"),
        Index("rate_history_currency_as_of", "currency_code", "as_of", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    currency_code: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    jpy_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RateClose(db.Model):
    """A currency's rate as of the end of a period (core.history.closes_at), kept up to date
    as ticks arrive: a chart reads one row per point instead of every tick in between."""

    __tablename__ = "rate_closes"
    __table_args__ = (
        CheckConstraint("jpy_rate > 0", name="rate_close_positive"),
        CheckConstraint("period_seconds > 0", name="rate_close_period_positive"),
    )

    currency_code: Mapped[str] = mapped_column(ForeignKey("currencies.code"), primary_key=True)
    period_seconds: Mapped[int] = mapped_column(primary_key=True)
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    jpy_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    # The tick's own time: a later tick of the same period replaces it, an older one does not.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)


__all__ = ["Account", "LoginSession", "Currency", "Balance", "Rate", "RateHistory", "RateClose", "JournalEntry",
           "normalize_email", "utcnow"]


# API keys for the exchange-compatible API (dashboard/exchange_api.py).


class ApiKey(db.Model):
    """A customer's key for the signed API. The secret is kept Fernet-encrypted, because checking
    an HMAC signature needs the secret itself (a hash would not do); revoking keeps the row so
    the key's events still name it."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("last_nonce >= 0", name="last_nonce_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No ON DELETE CASCADE: like the balance journal, a key's history outlives nothing it names.
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    access_key: Mapped[str] = mapped_column(String(32), unique=True)
    encrypted_secret: Mapped[str] = mapped_column(String(255))
    # Space-separated permission names, e.g. "balance:read".
    permissions: Mapped[str] = mapped_column(String(255))
    # Space-separated IP networks; empty means any client address.
    allowed_addresses: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The highest ACCESS-NONCE accepted so far; up to 19 digits, hence 64-bit.
    last_nonce: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    account: Mapped[Account] = relationship()

    @property
    def permission_set(self) -> frozenset[str]:
        return frozenset(self.permissions.split())

    @property
    def allowed_address_list(self) -> list[str]:
        return self.allowed_addresses.split()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ApiKeyEvent(db.Model):
    """Journal of key creation and revocation. Append-only: a database trigger refuses UPDATE
    and DELETE (migration 0003)."""

    __tablename__ = "api_key_events"
    __table_args__ = (
        CheckConstraint("event IN ('created', 'revoked')", name="api_key_event_known"),
        CheckConstraint("source IN ('web', 'cli')", name="api_key_event_source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


__all__ += ["ApiKey", "ApiKeyEvent"]


# Second factors (migration 0009): an authenticator app, recovery codes and passkeys.


class AuthenticatorApp(db.Model):
    """An account's TOTP secret (RFC 6238), Fernet-encrypted like API secrets. The row exists
    from the moment setup starts; only `enabled_at` makes it a factor, once a code was shown."""

    __tablename__ = "authenticator_apps"
    __table_args__ = (CheckConstraint("last_used_step >= 0", name="last_used_step_not_negative"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    encrypted_secret: Mapped[str] = mapped_column(String(255))
    # The time step (30-second counter) of the last code accepted: a code is good once only.
    last_used_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    enabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RecoveryCode(db.Model):
    """One of an account's single-use recovery codes; only a SHA-256 of it is kept (the codes
    are 60 random bits, so a slow hash would add nothing but time)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Passkey(db.Model):
    """A WebAuthn credential: its id and public key as the authenticator made them."""

    __tablename__ = "passkeys"
    __table_args__ = (CheckConstraint("sign_count >= 0", name="sign_count_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # base64url of the raw credential id (at most 1,023 bytes by the WebAuthn spec)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SpentChallenge(db.Model):
    """A passkey challenge that has been answered. The signed cookie that carried it can be sent
    again as it was, so the server keeps the challenge's digest until it would have expired
    anyway: a second answer to the same challenge is refused whatever the cookie says."""

    __tablename__ = "spent_challenges"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class SecurityEvent(db.Model):
    """A sign-in or a change to how the account signs in, for the Security page's "Recent
    activity": what, when, and from which browser and address."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(200), default="", server_default="")
    address: Mapped[str] = mapped_column(String(45), default="", server_default="")

    __table_args__ = (Index("ix_security_events_account_at", "account_id", "at"), Index("ix_security_events_at", "at"))


__all__ += ["AuthenticatorApp", "RecoveryCode", "Passkey", "SpentChallenge", "SecurityEvent"]
# Compensation runs (dashboard/ledger/compensation_plans.py, compensation_runs.py).


class CompensationPlan(db.Model):
    """A reviewed compensation: who held how much of a currency at a moment, and the JPY each is
    owed. Its file is applied only if byte-for-byte the one recorded here (digest); `identity`,
    written in the file, tells a plan made on another database from an edited one."""

    __tablename__ = "compensation_plans"
    __table_args__ = (
        CheckConstraint("rounding IN ('down', 'half-up')", name="compensation_rounding_known"),
        CheckConstraint("holders >= 0", name="compensation_holders_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(36), unique=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    currency_code: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    snapshot_at: Mapped[datetime] = mapped_column(UtcDateTime)
    rounding: Mapped[str] = mapped_column(String(10))
    holders: Mapped[int]
    total_quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    total_jpy: Mapped[Decimal] = mapped_column(ExactDecimal)
    rounded_away: Mapped[Decimal] = mapped_column(ExactDecimal)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class CompensationLine(db.Model):
    """What became of one account's line of a plan: applied (in the same transaction as its
    journal entries) or refused, with why. A line with no row is pending."""

    __tablename__ = "compensation_lines"
    __table_args__ = (CheckConstraint("status IN ('applied', 'refused')", name="compensation_line_status_known"),)

    plan_id: Mapped[int] = mapped_column(ForeignKey("compensation_plans.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    jpy: Mapped[Decimal] = mapped_column(ExactDecimal)
    status: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


__all__ += ["CompensationPlan", "CompensationLine"]


# Trades as the exchange's fills, and moves of crypto-assets in and out (migration 0014).


class Trade(db.Model):
    """One fill: `quantity` units of `currency` bought or sold at `price` JPY each, with a fee in
    JPY or in the currency. Its two journal entries (JPY and the currency) carry the idempotency
    keys trade:<trade_id>:jpy and trade:<trade_id>:<currency>."""

    __tablename__ = "trades"
    __table_args__ = (
        CheckConstraint("side IN ('buy', 'sell')", name="trade_side_known"),
        CheckConstraint("quantity > 0", name="trade_quantity_positive"),
        CheckConstraint("price > 0", name="trade_price_positive"),
        CheckConstraint("fee >= 0", name="trade_fee_not_negative"),
        CheckConstraint("jpy >= 0", name="trade_jpy_not_negative"),
        Index("trades_account_executed", "account_id", "executed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    currency_code: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    fee: Mapped[Decimal] = mapped_column(ExactDecimal)
    fee_currency: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    # quantity × price as the customer paid (rounded up to the yen) or received (rounded down).
    jpy: Mapped[Decimal] = mapped_column(ExactDecimal)
    executed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Transfer(db.Model):
    """A deposit (in) or withdrawal (out) of a crypto-asset; its journal entry's key is
    transfer:<transfer_id>."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="transfer_direction_known"),
        CheckConstraint("quantity > 0", name="transfer_quantity_positive"),
        Index("transfers_account_at", "account_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    currency_code: Mapped[str] = mapped_column(ForeignKey("currencies.code"))
    direction: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


__all__ += ["Trade", "Transfer"]
