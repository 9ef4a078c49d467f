"""The figures of the gains page, /api/gains and the annual transaction report (年間取引報告書):
realized gains per year and the report's rows, as exact strings; and the report as CSV."""
from __future__ import annotations

import codecs
import csv
import io
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from dashboard.core.cost_basis import METHODS, as_decimal, to_decimal
from dashboard.core.formatting import plain
from dashboard.extensions import db
from dashboard.ledger.acquisition import CurrencyYear, account_years, annual_report, display_order, year_of
from dashboard.models import Account

# The report's columns: the exact English header (`--lang en`) and the exchange's Japanese words.
REPORT_COLUMNS = (
    ("currency", _l("Currency")),
    ("opening_quantity", _l("Opening quantity")),
    ("bought_quantity", _l("Quantity bought in the year")),
    ("bought_jpy", _l("Amount bought in the year")),
    ("sold_quantity", _l("Quantity sold in the year")),
    ("sold_jpy", _l("Amount sold in the year")),
    ("transferred_in", _l("Quantity moved in during the year")),
    ("transferred_out", _l("Quantity moved out during the year")),
    ("fees_jpy", _l("Fees paid")),
    ("closing_quantity", _l("Closing quantity")),
    ("average_cost_jpy", _l("Average unit cost")),
    ("realized_gain_jpy", _l("Realized gain")),
)
# An average unit cost is a fraction of a yen with no end (2,850,000 ÷ 4.5): shown to the sen.
AVERAGE_PLACES = 2


def account_method(account_id: int) -> str:
    """The account's chosen method of acquisition cost (read afresh: the request's account is a
    snapshot made before any change of it)."""
    return db.session.execute(select(Account.cost_method).where(Account.id == account_id)).scalar_one()


def realized_gains(account_id: int, year: int, method: str, zone: ZoneInfo) -> dict:
    """/api/gains's document: per crypto-asset sold (or compensated) in the year, the units, the
    proceeds rounded down, the cost rounded up and the gain; and their total."""
    computed, _tallies = account_years(account_id, method, zone)
    currencies, total = [], 0
    for code in _ordered(computed):
        found = year_of(computed[code], year)
        if found is None or not found.sold_quantity:
            continue
        currencies.append({
            "currency": code,
            "sold_quantity": _quantity(found.sold_quantity),
            "proceeds_jpy": str(found.proceeds_jpy),
            "cost_jpy": str(found.cost_of_sales_jpy),
            "gain_jpy": str(found.gain_jpy),
        })
        total += found.gain_jpy
    return {"year": year, "method": method, "currencies": currencies, "gain_jpy": str(total)}


def report_rows(account_id: int, year: int, method: str, zone: ZoneInfo) -> list[dict[str, str]]:
    """The report's rows, one per crypto-asset held or moved in the year, as exact strings
    keyed by the English column names."""
    return [_row(found) for found in annual_report(account_id, year, method, zone)]


def _row(found: CurrencyYear) -> dict[str, str]:
    year, tally = found.year, found.tally
    unit = year.unit_cost
    return {
        "currency": found.currency,
        "opening_quantity": plain(found.opening_quantity),
        "bought_quantity": _quantity(year.bought_quantity),
        "bought_jpy": plain(tally.bought_jpy),
        "sold_quantity": _quantity(year.sold_quantity),
        "sold_jpy": plain(tally.sold_jpy),
        "transferred_in": plain(tally.transferred_in),
        "transferred_out": plain(tally.transferred_out),
        "fees_jpy": plain(tally.fees_jpy),
        "closing_quantity": plain(found.closing_quantity),
        "average_cost_jpy": "" if unit is None else plain(to_decimal(unit, AVERAGE_PLACES)),
        "realized_gain_jpy": str(year.gain_jpy),
    }


def report_csv(rows: list[dict[str, str]], language: str) -> bytes:
    """The report as CSV in UTF-8 with a byte-order mark (which spreadsheet software in Japan
    needs to read UTF-8): the English column names with `en`, the Japanese ones with `ja`."""
    stream = io.StringIO(newline="")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(report_header(language))
    for row in rows:
        writer.writerow([row[name] for name, _label in REPORT_COLUMNS])
    return codecs.BOM_UTF8 + stream.getvalue().encode("utf-8")


def report_header(language: str) -> list[str]:
    if language == "en":
        return [name for name, _label in REPORT_COLUMNS]
    with force_locale(language):
        return [str(label) for _name, label in REPORT_COLUMNS]


def column_labels() -> list[tuple[str, str]]:
    """(column, its name in the page's language), for the printable page."""
    return [(name, str(label)) for name, label in REPORT_COLUMNS]


def _quantity(value) -> str:
    """A quantity (a fraction of decimals, so a decimal itself) in plain notation."""
    return plain(as_decimal(value))


def _ordered(computed: dict) -> list[str]:
    return [code for code in display_order() if code in computed]


def known_method(text: str | None) -> str | None:
    return text if text in METHODS else None
