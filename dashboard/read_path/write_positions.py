"""Where in the primary's write-ahead log a replica must be before it may answer for an account.

PostgreSQL numbers every byte of its write-ahead log (an LSN); a streaming replica has applied
the log up to `pg_last_wal_replay_lsn()`. A write is visible on a replica once the replica has
replayed past the write's LSN. This module remembers, in each process, the LSNs a read must wait
for: per account, the primary's position right after the change feed heard that the account
changed (change_feed.py: whoever wrote it, on whichever machine); for every account, the
position when the feed (re)connected (what it could not hear) and after each change of rates or
currencies (every wallet's figures). The browser's own writes travel in its session cookie
(replicas.py), so they hold whichever process serves its next request.

The feed hears changes in commit order and asks the primary's position after each batch, so the
positions arrive in increasing order: the per-account map is kept in that order and its front
is dropped once every replica has replayed past it. Bounded: an entry pushed out early raises
the floor for every account instead (never a read older than a write heard).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

# Accounts remembered at most; past it the oldest entry becomes everyone's floor.
MAX_ACCOUNTS = 100_000


def parse_lsn(text: str | None) -> int:
    """'16/B374D848' (PostgreSQL's pg_lsn) as a number; None (no position) as 0."""
    if not text:
        return 0
    high, _, low = str(text).partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


class WritePositions:
    def __init__(self, max_accounts: int = MAX_ACCOUNTS):
        self._lock = threading.Lock()
        self._accounts: OrderedDict[int, int] = OrderedDict()  # account id -> LSN, in increasing LSN
        self._max_accounts = max_accounts
        self.floor = 0          # every read needs at least this
        self.primary_seen = 0   # the newest position this process has seen the primary at

    def wrote(self, account_ids, lsn: int) -> None:
        """These accounts changed at or before lsn (the primary's position after the commit)."""
        with self._lock:
            self.primary_seen = max(self.primary_seen, lsn)
            for account_id in account_ids:
                self._accounts.pop(account_id, None)
                self._accounts[account_id] = lsn
            while len(self._accounts) > self._max_accounts:
                _account, oldest = self._accounts.popitem(last=False)
                self.floor = max(self.floor, oldest)

    def wrote_everything(self, lsn: int) -> None:
        """Anything may have changed at or before lsn: a rate, a currency, or changes unheard."""
        with self._lock:
            self.primary_seen = max(self.primary_seen, lsn)
            self.floor = max(self.floor, lsn)

    def saw_primary_at(self, lsn: int) -> None:
        with self._lock:
            self.primary_seen = max(self.primary_seen, lsn)

    def needed(self, account_id: int | None) -> int:
        """The LSN a replica must have replayed to answer for this account (None: any account
        not yet known, such as a session looked up by its token)."""
        if account_id is None:
            return self.floor
        return max(self.floor, self._accounts.get(account_id, 0))

    def replayed_everywhere(self, lsn: int) -> None:
        """Every replica has replayed up to lsn: what was written before it needs no memory."""
        with self._lock:
            while self._accounts:
                account_id, written = next(iter(self._accounts.items()))
                if written > lsn:
                    break
                del self._accounts[account_id]

    def __len__(self) -> int:
        return len(self._accounts)
