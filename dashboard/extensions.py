"""Flask extensions, created unbound here and bound to an app in create_app."""
import math
import time

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from limits import RateLimitItem
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
# The engine of signed_in.read_connection(); no model is bound to it.
READS_BIND = "reads"
# The engines of the replicas (read_path/replicas.py): "replica-1", "replica-2", ...
REPLICA_BIND_PREFIX = "replica-"
migrate = Migrate()
babel = Babel()
login = LoginManager()
# Flask-Login's "basic" protection only marks a session not fresh when the address or browser
# changes, and nothing here asks for freshness; it cost a hash per request, and re-signed the
# cookie on every request of a phone that changed networks. Sign-in sessions are protected on
# the server instead: revocable, idle and absolute limits, listed on the Security page.
login.session_protection = None
csrf = CSRFProtect()


class FailureCounters:
    """Counters of failed attempts (sign-in, the signed API) in a store every worker shares.

    The `limits` library itself, not Flask-Limiter: only two places count anything, each with
    its own rule, and Flask-Limiter's before- and after-request hooks ran on every request to
    look for limits that no other page has (a tenth of a cached /api/balance, measured)."""

    def init_app(self, app) -> None:
        storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
        app.extensions["failure_counters"] = FixedWindowRateLimiter(storage)

    @staticmethod
    def enabled(app) -> bool:
        # The tests that are not about throttling turn it off.
        return bool(app.config.get("RATELIMIT_ENABLED", True))

    @staticmethod
    def of(app) -> FixedWindowRateLimiter:
        return app.extensions["failure_counters"]

    def begin(self, app, limit: RateLimitItem, buckets) -> int | None:
        """One attempt counted in each bucket, in order, *before* it is checked: None when it may
        go ahead (counted as a failure until `take_back`), or the seconds until the first bucket
        over the limit lets attempts through again (refused, and then counted nowhere).

        Counting first is what makes the limit hold under concurrent attempts. A check, then a
        count once the attempt had failed, let every attempt that arrived during the slow part
        (the password hash) through the same check; the store's increment is atomic, so of any
        number of simultaneous attempts only the limit's number go ahead."""
        if not self.enabled(app):
            return None
        counters = self.of(app)
        counted = []
        for bucket in buckets:
            counted.append(bucket)
            if not counters.hit(limit, *bucket):
                seconds = self.seconds_left(counters, limit, bucket)
                self._take_back(counters, limit, counted)
                return seconds
        return None

    def take_back(self, app, limit: RateLimitItem, buckets) -> None:
        """An attempt `begin` let through succeeded: it counts against nothing."""
        if self.enabled(app):
            self._take_back(self.of(app), limit, buckets)

    @staticmethod
    def _take_back(counters: FixedWindowRateLimiter, limit: RateLimitItem, buckets) -> None:
        for bucket in buckets:
            counters.storage.incr(limit.key_for(*bucket), limit.get_expiry(), amount=-1)

    @staticmethod
    def seconds_left(counters: FixedWindowRateLimiter, limit: RateLimitItem, bucket) -> int:
        return max(1, math.ceil(counters.get_window_stats(limit, *bucket).reset_time - time.time()))


# Only sign-in and the signed API are throttled, each with its own rule.
failure_counters = FailureCounters()
