"""Telling a customer that someone with their password failed the second step: on the Security
page (since the password last changed, and whether the second step is locked now) and once at
their next sign-in (since the one before). Whoever failed it had the password, so the advice is
to change it."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from limits.errors import StorageError
from redis.exceptions import RedisError

from dashboard.accounts import devices, security_events, throttle
from dashboard.accounts.security_events import SecondStepFailures
from dashboard.core.language_choice import format_moment
from dashboard.models import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OriginShown:
    address: str
    device: str
    last_at: str


@dataclass(frozen=True)
class SecondStepWarning:
    """What the Security page's warning (templates/accounts/_second_step_warning.html) shows."""

    count: int
    first_at: str
    last_at: str
    origins: tuple[OriginShown, ...]
    locked_until: str | None


def _time(moment) -> str:
    return format_moment(moment, str(get_locale()), current_app.config["BABEL_DEFAULT_TIMEZONE"])


def for_security_page(account_id: int) -> SecondStepWarning | None:
    """None when there is nothing to warn about."""
    failures = security_events.unanswered_second_step_failures(account_id)
    try:
        seconds = throttle.second_step_locked_for(account_id)
    except (RedisError, StorageError) as error:
        # The throttles' store is down: whether the second step is locked now cannot be known, and
        # nobody can sign in meanwhile (503). The page shows what the database knows, not an error.
        log.warning("throttling store unavailable for the security page: %s", error.__class__.__name__)
        seconds = None
    if not failures.count and seconds is None:
        return None
    locked_until = None
    if seconds is not None:
        locked_until = _time(utcnow() + timedelta(seconds=seconds))
    return SecondStepWarning(
        count=failures.count,
        first_at=_time(failures.first_at) if failures.first_at else "",
        last_at=_time(failures.last_at) if failures.last_at else "",
        origins=tuple(OriginShown(origin.address or "—", devices.in_words(origin.user_agent), _time(origin.last_at))
                      for origin in failures.origins),
        locked_until=locked_until,
    )


def sign_in_message(failures: SecondStepFailures) -> str:
    """The flash message of the sign-in after failures: how many, the last one's time and origin."""
    last = failures.origins[0]
    return _("Someone with your password failed two-step verification %(count)d time(s) since you last signed in, "
             "most recently at %(when)s from %(address)s (%(device)s). If it was not you, change your password now "
             "on the Security page.",
             count=failures.count, when=_time(failures.last_at), address=last.address or "—",
             device=devices.in_words(last.user_agent))
