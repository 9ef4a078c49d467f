"""Failed signed-API attempts (401, 403), counted per client address.

Once an address is over API_FAILURE_LIMIT, every request from it is refused with 429 until the
window passes, good signatures and every key included: guessing from one address gains nothing.
Failures with an access key count against the address that sent them, and so against the key
only from that address: failures sent from one address never refuse the key's correctly signed
requests from another. (Counting per key whoever sent them let anyone who knew an access key,
which is not a secret, lock its owner out with ten zero signatures a minute; a counter of key
and address together would never be reached before the address's own, under the same limit.)
The secret, 256 random bits, is not guessed from many addresses either. Successful requests
count against nothing, so a program that signs correctly is never slowed down.

Each request is counted before it is checked and taken back once it is answered with anything
but a refusal (extensions.FailureCounters.begin): concurrent guesses cannot all pass a check
made before any of them failed.
"""
from __future__ import annotations

from flask import current_app, g, request
from limits import RateLimitItem, parse

from dashboard.errors import render_error
from dashboard.exchange_api.auth import refused
from dashboard.extensions import failure_counters
from dashboard.metrics import SIGNED_API_FAILURES


def _limit() -> RateLimitItem:
    return parse(current_app.config["API_FAILURE_LIMIT"])


def _buckets() -> tuple[tuple[str, ...], ...]:
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    return ((prefix, "signed-api", "address:" + (request.remote_addr or "")),)


def refuse_when_over_the_limit():
    """Before the request: counted against its address, or 429 with Retry-After when the
    address is over the limit (a correct signature included: it is not checked)."""
    seconds = failure_counters.begin(current_app, _limit(), _buckets())
    if seconds is not None:
        SIGNED_API_FAILURES.labels("429").inc()
        return render_error(429, headers={"Retry-After": str(seconds)})
    g.signed_api_attempt = True
    return None


def count_failures(response):
    """After the request: only a refusal of the signature or the address stays counted."""
    attempted = g.pop("signed_api_attempt", False)
    if refused(response):
        SIGNED_API_FAILURES.labels(str(response.status_code)).inc()
    elif attempted:
        failure_counters.take_back(current_app, _limit(), _buckets())
    return response


def init_blueprint(blueprint) -> None:
    blueprint.before_request(refuse_when_over_the_limit)
    blueprint.after_request(count_failures)
