"""Reading the balance journal: an account's history, holdings as of a past moment, the check
that every balance equals its journal's last figures and that its hash chain holds, and the
chain head an operator anchors."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, select, text

from dashboard.core.formatting import plain
from dashboard.core.journal_hash import Anchor, HeadsDigest, anchor_line, entry_hash, heads_digest
from dashboard.extensions import db
from dashboard.models import Account, Balance, Currency, JournalEntry, hashed_fields, utcnow

ZERO = Decimal(0)


@dataclass(frozen=True)
class Holding:
    email: str
    currency: str
    available: Decimal
    in_use: Decimal


def history(account_id: int, currency: str | None = None) -> list[JournalEntry]:
    """The account's journal entries in the order they took effect."""
    query = select(JournalEntry).where(JournalEntry.account_id == account_id)
    if currency is not None:
        query = query.where(JournalEntry.currency_code == currency)
    return list(db.session.execute(query.order_by(JournalEntry.effective_at, JournalEntry.id)).scalars())


def holdings_as_of(moment: datetime, currency: str | None = None) -> list[Holding]:
    """Every account's balances as they stood at `moment`: for each balance, the figures after
    its last journal entry that took effect at or before then. Balances with no entry by then
    are left out (they were zero); a balance that had been emptied is listed at zero."""
    last = (
        select(JournalEntry.account_id, JournalEntry.currency_code, func.max(JournalEntry.sequence).label("sequence"))
        .where(JournalEntry.effective_at <= moment)
        .group_by(JournalEntry.account_id, JournalEntry.currency_code)
    )
    if currency is not None:
        last = last.where(JournalEntry.currency_code == currency)
    last = last.subquery()
    query = (
        select(Account.email, JournalEntry.currency_code, JournalEntry.available_after, JournalEntry.in_use_after)
        .join(last, and_(JournalEntry.account_id == last.c.account_id, JournalEntry.currency_code == last.c.currency_code,
                         JournalEntry.sequence == last.c.sequence))
        .join(Account, Account.id == JournalEntry.account_id)
        .join(Currency, Currency.code == JournalEntry.currency_code)
        .order_by(Account.email, Currency.display_order)
    )
    return [Holding(*row) for row in db.session.execute(query)]


def verify(anchors: Sequence[Anchor] = ()) -> tuple[int, int, list[str]]:
    """Walk every balance's journal: numbered 1, 2, 3... without gaps, each entry starting
    where the one before ended (the first from zero), the last ending at the balance itself;
    each entry's hash holding over its contents and the hash of the entry before it (the first
    entry whose hash does not hold is named, with why); and the journal still extending every
    anchor. Returns the balances and entries checked and the problems found."""
    balances = {
        (account_id, code): (email, available, in_use)
        for account_id, code, email, available, in_use in db.session.execute(
            select(Balance.account_id, Balance.currency_code, Account.email, Balance.available, Balance.in_use)
            .join(Account, Account.id == Balance.account_id)
        )
    }
    problems: list[str] = []
    entries = 0
    journalled = set()
    digests = [HeadsDigest() for _ in anchors]
    anchored_ids = {anchor.entry_id for anchor in anchors}
    found_ids = set()
    for key, chain in _chains():
        journalled.add(key)
        entries += len(chain)
        email, available, in_use = balances.get(key, (f"account {key[0]}", None, None))
        where = f"{email} {key[1]}"
        expected = (ZERO, ZERO)
        for number, entry in enumerate(chain, start=1):
            if entry.sequence != number:
                problems.append(f"{where}: entry {number} is numbered {entry.sequence}")
            if (entry.available_before, entry.in_use_before) != expected:
                problems.append(f"{where}: entry {entry.sequence} starts from {_pair(entry.available_before, entry.in_use_before)}, "
                                f"the entry before ended at {_pair(*expected)}")
            expected = (entry.available_after, entry.in_use_after)
            if entry.id in anchored_ids:
                found_ids.add(entry.id)
        broken = _broken_link(chain)
        if broken:
            problems.append(f"{where}: {broken}")
        for anchor, digest in zip(anchors, digests, strict=True):
            head = max((entry for entry in chain if entry.id <= anchor.entry_id), key=lambda entry: entry.sequence, default=None)
            if head is not None:
                digest.add(key[0], key[1], head.sequence, head.hash)
        if available is None:
            problems.append(f"{where}: has journal entries but no balance")
        elif (available, in_use) != expected:
            problems.append(f"{where}: balance is {_pair(available, in_use)}, its journal ends at {_pair(*expected)}")
    for key, (email, available, in_use) in balances.items():
        if key not in journalled and (available, in_use) != (ZERO, ZERO):
            problems.append(f"{email} {key[1]}: balance is {_pair(available, in_use)} with no journal entry")
    for anchor, digest in zip(anchors, digests, strict=True):
        if anchor.entry_id and anchor.entry_id not in found_ids:
            problems.append(f"anchor on line {anchor.line} ({anchor.at}): entry {anchor.entry_id} is not in the journal "
                            "(deleted, or the anchor is another database's)")
        elif digest.hexdigest() != anchor.hash:
            problems.append(f"anchor on line {anchor.line} ({anchor.at}): the journal no longer extends it — the chain heads "
                            f"as of entry {anchor.entry_id} hash to {digest.hexdigest()}, not {anchor.hash}: an entry at or "
                            "before it was changed, added or removed and the hashes after it recomputed")
    return len(balances), entries, problems


def _broken_link(chain: list[JournalEntry]) -> str | None:
    """Why the first entry of a balance's chain whose hash does not hold fails, or None: its
    contents changed (its hash does not hold over them), it is out of order (it chains from
    another entry of the balance), or an entry before it is missing (it chains from a hash no
    entry of the balance has: removed, or rewritten with its hash recomputed)."""
    hashes = {entry.hash: entry for entry in chain if entry.hash}
    previous = None
    for entry in chain:
        named = f"entry {entry.sequence} (id {entry.id})"
        if entry.hash is None:
            return f"{named} has no hash"
        holds = entry_hash(**hashed_fields(entry, entry.prev_hash)) == entry.hash
        if entry.prev_hash != previous:
            if entry.prev_hash is None or entry.prev_hash in hashes:
                source = hashes.get(entry.prev_hash)
                after = "no entry (it is a first entry)" if source is None else f"entry {source.sequence} (id {source.id})"
                return f"{named} is out of order: it chains from {after}, not from the entry before it"
            if holds:
                return f"{named} does not chain from the entry before it: an entry before it is missing, or was rewritten"
            return f"{named} was changed: its hash does not hold over its contents"
        if not holds:
            return f"{named} was changed: its hash does not hold over its contents"
        previous = entry.hash
    return None


def anchor() -> str:
    """The chain head to record, as a line of JSON: the latest entry's id, the digest of every
    balance's chain head among the entries up to it (core/journal_hash.heads_digest) and the time
    taken. On PostgreSQL the journal is locked against writers for an instant (SHARE), so that
    every entry numbered up to that id has committed: none can appear below it later."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL lock_timeout = '30s'"))
        db.session.execute(text("LOCK TABLE journal_entries IN SHARE MODE"))
    head_id = db.session.execute(select(func.max(JournalEntry.id))).scalar() or 0
    at = utcnow()
    db.session.commit()
    latest = (
        select(JournalEntry.account_id, JournalEntry.currency_code, func.max(JournalEntry.sequence).label("sequence"))
        .where(JournalEntry.id <= head_id)
        .group_by(JournalEntry.account_id, JournalEntry.currency_code)
        .subquery()
    )
    heads = db.session.execute(
        select(JournalEntry.account_id, JournalEntry.currency_code, JournalEntry.sequence, JournalEntry.hash)
        .join(latest, and_(JournalEntry.account_id == latest.c.account_id, JournalEntry.currency_code == latest.c.currency_code,
                           JournalEntry.sequence == latest.c.sequence))
        .order_by(JournalEntry.account_id, JournalEntry.currency_code)
        .execution_options(yield_per=10000)
    )
    return anchor_line(head_id, heads_digest(heads), at)


def _chains() -> Iterator[tuple[tuple[int, str], list[JournalEntry]]]:
    """Each balance's journal entries in sequence order, streamed."""
    query = select(JournalEntry).order_by(JournalEntry.account_id, JournalEntry.currency_code, JournalEntry.sequence)
    key, chain = None, []
    for entry in db.session.execute(query.execution_options(yield_per=1000)).scalars():
        if (entry.account_id, entry.currency_code) != key:
            if chain:
                yield key, chain
            key, chain = (entry.account_id, entry.currency_code), []
        chain.append(entry)
    if chain:
        yield key, chain


def _pair(available: Decimal, in_use: Decimal) -> str:
    return f"available {plain(available)} / in use {plain(in_use)}"
