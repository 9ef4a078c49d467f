"""Sign-in throttling that nobody can turn against a customer (OWASP's device-cookie scheme).

- An attempt carrying a valid device cookie for the account is limited only by that cookie's
  own bucket: failures from anywhere else never refuse it. A cookie over its limit is treated
  as no cookie at all.
- An attempt without one is limited per client address, then per account. An address already
  refused is refused before anything is looked at or counted against the account.
- The second step (authenticator code, recovery code, passkey after the password) is also
  counted per account, whatever the address or device: SECOND_STEP_LIMIT failures (10 an hour)
  and that account's second step answers 429 for everyone, a right code included, until the
  window has passed. Whoever gets that far has the password; per address alone, five addresses
  had 50 guesses a minute at a 6-digit code (three of which are valid at any time).
- Only failures count; a successful sign-in counts against nothing. An attempt is counted
  before it is checked and taken back when it succeeds (extensions.FailureCounters.begin), so
  attempts sent all at once cannot all pass a check made before any of them had failed.

The counters live in the `limits` library's store (Redis in production). If it cannot be reached, the
store's error reaches errors.py, which answers 503: sign-in fails closed, never open.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from limits import RateLimitItem, parse

from dashboard.accounts.device_cookie import DeviceToken, token_for
from dashboard.extensions import failure_counters


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # seconds
    second_step_locked: bool = False  # the account's second step, rather than this address or device


@dataclass(frozen=True)
class Attempt:
    """The buckets one sign-in attempt (for one account) is counted in."""

    buckets: tuple[str, ...]

    def begin(self) -> Refusal | None:
        """Counted in each bucket in order, so an address already refused never reaches the
        account's bucket; a refused attempt counts nowhere."""
        seconds = failure_counters.begin(current_app, _limit(), self._ids())
        return None if seconds is None else Refusal(seconds)

    def succeeded(self) -> None:
        failure_counters.take_back(current_app, _limit(), self._ids())

    def _ids(self) -> list[tuple[str, ...]]:
        return [_ids(bucket) for bucket in self.buckets]


def begin_attempt(email: str) -> tuple[Attempt, Refusal | None]:
    """An attempt on the account with this normalised email, begun (see Attempt.begin)."""
    device: DeviceToken | None = token_for(email)
    if device is not None and _enabled():
        trusted = Attempt(("device:" + device.nonce,))
        if trusted.begin() is None:
            return trusted, None
    attempt = Attempt(("address:" + (request.remote_addr or ""), "account:" + email))
    return attempt, attempt.begin()


def _enabled() -> bool:
    return failure_counters.enabled(current_app)


def _limit() -> RateLimitItem:
    return parse(current_app.config["LOGIN_LIMIT"])


def _ids(bucket: str) -> tuple[str, ...]:
    return (current_app.config["RATELIMIT_KEY_PREFIX"], "sign-in", bucket)


@dataclass(frozen=True)
class SecondStepAttempt:
    """A second-step attempt: the sign-in buckets above, then the account's own second-step bucket."""

    sign_in: Attempt
    account_id: int

    def succeeded(self) -> None:
        self.sign_in.succeeded()
        failure_counters.take_back(current_app, _second_step_limit(), [_second_step_ids(self.account_id)])


def begin_second_step(email: str, account_id: int) -> tuple[SecondStepAttempt, Refusal | None]:
    """Counted like a sign-in attempt (an address already refused counts nothing against the
    account), then in the account's second-step bucket; refused when either is over its limit,
    and then counted nowhere."""
    sign_in, refusal = begin_attempt(email)
    attempt = SecondStepAttempt(sign_in, account_id)
    if refusal is not None:
        return attempt, refusal
    seconds = failure_counters.begin(current_app, _second_step_limit(), [_second_step_ids(account_id)])
    if seconds is not None:
        sign_in.succeeded()  # not a failure: never checked
        return attempt, Refusal(seconds, second_step_locked=True)
    return attempt, None


def second_step_locked_for(account_id: int) -> int | None:
    """Seconds until the account's second step takes attempts again, or None when it does now."""
    if not _enabled():
        return None
    counters = failure_counters.of(current_app)
    limit = _second_step_limit()
    stats = counters.get_window_stats(limit, *_second_step_ids(account_id))
    if stats.remaining > 0:
        return None
    return failure_counters.seconds_left(counters, limit, _second_step_ids(account_id))


def _second_step_limit() -> RateLimitItem:
    return parse(current_app.config["SECOND_STEP_LIMIT"])


def _second_step_ids(account_id: int) -> tuple[str, ...]:
    return (current_app.config["RATELIMIT_KEY_PREFIX"], "second-step", f"account:{account_id}")


def begin_address_attempt() -> tuple[Attempt, Refusal | None]:
    """For an attempt that names no account before it is checked (a passkey alone)."""
    attempt = Attempt(("address:" + (request.remote_addr or ""),))
    return attempt, attempt.begin()
