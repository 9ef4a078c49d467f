"""Figures read when Prometheus scrapes rather than counted as things happen: each rate's age
and each readiness check. Asked of the database and Redis once per scrape (every 15 to 60 seconds),
never on a customer's request."""
from __future__ import annotations

import logging
import time

from flask import Flask
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from dashboard.extensions import db
from dashboard.models import Currency, Rate
from dashboard.operations.health import run_checks

log = logging.getLogger(__name__)


class ScrapeTimeCollector(Collector):
    def __init__(self, app: Flask):
        self._app = app

    def collect(self):
        ages = GaugeMetricFamily("dashboard_rate_age_seconds",
                                 "Seconds since each enabled currency's current JPY rate took effect.", labels=["currency"])
        try:
            with db.engine.connect() as connection:
                rows = connection.execute(
                    select(Rate.currency_code, Rate.as_of).join(Currency, Currency.code == Rate.currency_code)
                    .where(Currency.enabled.is_(True), Currency.code != "jpy").order_by(Rate.currency_code)).all()
        except SQLAlchemyError as error:
            log.warning("metrics: rates unreadable: %s", error.__class__.__name__)
            rows = []
        now = time.time()
        for code, as_of in rows:
            ages.add_metric([code], max(0.0, now - as_of.timestamp()))
        yield ages

        ready = GaugeMetricFamily("dashboard_readiness_check", "1 when the readiness check passes in the scraped process, 0 when it fails.",
                                  labels=["check"])
        for name, result in run_checks(self._app).items():
            ready.add_metric([name], 1.0 if result is True else 0.0)
        yield ready
