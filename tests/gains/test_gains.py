"""Realized gains from fills and the NEM compensation: /api/gains, the page, the method setting,
and the annual transaction report (CLI and page), on SQLite and PostgreSQL."""
from __future__ import annotations

import codecs
import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import sign_in
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Account

TRADES = "email,trade_id,executed_at,pair,side,quantity,price,fee,fee_currency\n"
ENGLISH_HEADER = ("currency,opening_quantity,bought_quantity,bought_jpy,sold_quantity,sold_jpy,transferred_in,"
                  "transferred_out,fees_jpy,closing_quantity,average_cost_jpy,realized_gain_jpy")
THIS_YEAR = datetime.now(ZoneInfo("Asia/Tokyo")).year


@pytest.fixture
def traders(app, runner, demo):
    """alice (password demopass) bought XEM at 100 yen and 120 yen before the 2018 theft, sold some,
    and holds 1,500 at the snapshot; bob bought 2,000 at 50. Both are then compensated."""
    with app.app_context():
        for email in ("alice@example.com", "bob@example.com"):
            account = Account(email=email)
            account.set_password("demopass")
            db.session.add(account)
        db.session.commit()
    funded = runner.invoke(args=["balances", "import", "-", "--as-of", "2017-06-01T00:00:00+09:00"],
                           input="email,currency,available,in_use\nalice@example.com,jpy,1000000,0\nbob@example.com,jpy,1000000,0\n")
    assert funded.exit_code == 0, funded.output
    result = runner.invoke(args=["trades", "import", "-"], input=TRADES + (
        # alice: 1,000 XEM for 100,000 + a 100-yen fee; 1,000 XEM for 120,000 (fee 2 XEM);
        # sells 498 XEM at 150 (74,700) in 2017.
        "alice@example.com,A1,2017-07-01T10:00:00+09:00,xem_jpy,buy,1000,100,100,jpy\n"
        "alice@example.com,A2,2017-09-01T10:00:00+09:00,xem_jpy,buy,1000,120,2,xem\n"
        "alice@example.com,A3,2017-12-01T10:00:00+09:00,xem_jpy,sell,498,150,0,jpy\n"
        "bob@example.com,B1,2017-07-01T10:00:00+09:00,xem_jpy,buy,2000,50,0,jpy\n"
    ))
    assert result.exit_code == 0, result.output


def compensate(runner, tmp_path):
    out = tmp_path / "plan.csv"
    planned = runner.invoke(args=["compensation", "plan", "--currency", "xem", "--rate", "88.549",
                                  "--snapshot", "2018-01-26T23:59:59+09:00", "--out", str(out)])
    assert planned.exit_code == 0, planned.output
    applied = runner.invoke(args=["compensation", "apply", str(out)])
    assert applied.exit_code == 0, applied.output


def test_gains_of_2017_by_each_method(client, traders):
    sign_in(client, "alice@example.com")
    # Total average over 2017: (100,100 + 120,000) ÷ (1,000 + 998) = 220,100 ÷ 1,998 a unit;
    # 498 sold: 498 × 220,100 ÷ 1,998 = 54,859.75… → 54,860 rounded up; 74,700 − 54,860 = 19,840.
    body = client.get("/api/gains?year=2017").get_json()
    assert body == {"year": 2017, "method": "total-average", "gain_jpy": "19840", "currencies": [
        {"currency": "xem", "sold_quantity": "498", "proceeds_jpy": "74700", "cost_jpy": "54860", "gain_jpy": "19840"}]}
    # Moving average: 100,100 ÷ 1,000 = 100.1; then (100,100 + 120,000) ÷ 1,998, the same unit
    # as the total average here (no sale in between): the same figures.
    moving = client.get("/api/gains?year=2017&method=moving-average").get_json()
    assert moving["method"] == "moving-average" and moving["gain_jpy"] == "19840"


def test_the_compensation_counts_as_a_disposal_at_its_rate(client, runner, tmp_path, traders):
    compensate(runner, tmp_path)
    sign_in(client, "alice@example.com")
    # alice's 1,500 XEM cost 1,500 × 220,100 ÷ 1,998 = 165,240.24… (closing value of 2017, not
    # rounded); compensated at 1,500 × 88.549 = 132,823.5 → 132,823 proceeds; cost 165,241 up;
    # a loss of 32,418.
    alice = client.get(f"/api/gains?year={THIS_YEAR}").get_json()
    assert alice["currencies"] == [{"currency": "xem", "sold_quantity": "1500", "proceeds_jpy": "132823",
                                    "cost_jpy": "165241", "gain_jpy": "-32418"}]
    # The page writes a loss with its minus before the yen sign.
    page = client.get(f"/gains?year={THIS_YEAR}").get_data(as_text=True)
    assert "<td>-¥ 32,418</td>" in page and "<td>¥ 132,823</td>" in page and "¥-" not in page
    client.post("/logout")
    sign_in(client, "bob@example.com")
    # bob's 2,000 XEM cost 100,000; 2,000 × 88.549 = 177,098: a gain of 77,098.
    bob = client.get(f"/api/gains?year={THIS_YEAR}").get_json()
    assert bob["currencies"][0]["gain_jpy"] == "77098" and bob["gain_jpy"] == "77098"


def test_annual_report_csv_and_its_closing_balance_equal_balances_as_of(app, runner, tmp_path, traders):
    compensate(runner, tmp_path)
    result = runner.invoke(args=["report", "annual", "alice@example.com", "--year", "2017", "--lang", "en"])
    assert result.exit_code == 0, result.output
    raw = result.stdout_bytes
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw[len(codecs.BOM_UTF8):].decode("utf-8"))))
    assert ",".join(rows[0]) == ENGLISH_HEADER
    report = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    xem = report["xem"]
    assert (xem["opening_quantity"], xem["bought_quantity"], xem["bought_jpy"], xem["sold_quantity"], xem["sold_jpy"],
            xem["fees_jpy"], xem["closing_quantity"], xem["realized_gain_jpy"]) == (
        "0", "1998", "220000", "498", "74700", "340", "1500", "19840")
    # 220,100 ÷ 1,998 = 110.16016… → 110.16 to the sen.
    assert xem["average_cost_jpy"] == "110.16"
    # The closing balance is the journal's at the year's end, as `balances as-of` says it.
    as_of = runner.invoke(args=["balances", "as-of", "2017-12-31T23:59:59.999999+09:00", "--currency", "xem"])
    held = {line.split(",")[0]: line.split(",") for line in as_of.stdout.splitlines()[1:]}
    from decimal import Decimal
    assert Decimal(xem["closing_quantity"]) == Decimal(held["alice@example.com"][2]) + Decimal(held["alice@example.com"][3])
    # In Japanese: the same columns in the exchange's words.
    japanese = runner.invoke(args=["report", "annual", "alice@example.com", "--year", "2017", "--lang", "ja"]).stdout_bytes
    header = japanese[len(codecs.BOM_UTF8):].decode("utf-8").splitlines()[0].split(",")
    assert header[:3] == ["通貨", "年始残高", "年中購入数量"] and len(header) == 12
    # The compensation's year: the XEM all gone, its loss realized.
    this_year = runner.invoke(args=["report", "annual", "alice@example.com", "--year", str(THIS_YEAR), "--lang", "en"]).stdout_bytes
    line = [row for row in this_year.decode("utf-8-sig").splitlines() if row.startswith("xem,")][0].split(",")
    assert (line[9], line[11]) == ("0", "-32418")


def test_report_cli_refuses_bad_arguments(runner, traders):
    assert runner.invoke(args=["report", "annual", "nobody@example.com", "--year", "2017"]).exit_code == 1
    assert runner.invoke(args=["report", "annual", "alice@example.com", "--year", "17x"]).exit_code == 2
    assert runner.invoke(args=["report", "annual", "alice@example.com", "--year", "2017", "--method", "fifo"]).exit_code == 2


@pytest.mark.parametrize("query", ["year=18", "year=abcd", "year=1999", "year=9999", "year=２０１８", "year=2018&method=fifo"])
def test_a_bad_year_or_method_is_a_translated_400(client, traders, query):
    sign_in(client, "alice@example.com")
    response = client.get(f"/api/gains?{query}")
    assert response.status_code == 400
    assert response.get_json()["success"] is False
    japanese = client.get(f"/api/gains?{query}", headers={"Accept-Language": "ja"})
    client.set_cookie("lang", "ja")
    japanese = client.get(f"/api/gains?{query}")
    assert japanese.status_code == 400
    assert japanese.get_json()["error"] != response.get_json()["error"]


def test_signed_out_is_401(client, traders):
    response = client.get("/api/gains?year=2017")
    assert response.status_code == 401 and response.get_json()["success"] is False
    assert client.get("/gains").status_code == 302


def test_page_method_setting_and_report(app, client, traders):
    sign_in(client, "alice@example.com")
    page = client.get("/gains?year=2017").get_data(as_text=True)
    assert "19,840" in page and 'value="total-average" checked' in page
    assert 'href="/gains"' in client.get("/").get_data(as_text=True)
    assert client.post("/gains/method", data={"method": "lifo"}).status_code == 303
    with app.app_context():
        assert db.session.execute(select(Account.cost_method).where(Account.email == "alice@example.com")).scalar_one() == "total-average"
    assert client.post("/gains/method", data={"method": "moving-average"}).status_code == 303
    with app.app_context():
        assert db.session.execute(select(Account.cost_method).where(Account.email == "alice@example.com")).scalar_one() == "moving-average"
    assert client.get("/api/gains?year=2017").get_json()["method"] == "moving-average"
    csv_body = client.get("/gains/report.csv?year=2017")
    assert csv_body.status_code == 200 and csv_body.data.startswith(codecs.BOM_UTF8)
    assert csv_body.headers["Content-Type"].startswith("text/csv")
    printable = client.get("/gains/report?year=2017").get_data(as_text=True)
    assert "1,998" in printable and "annual-report-table" in printable
    # The date of issue in the page's language, not as ISO.
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\d">[A-Z][a-z]+ \d{1,2}, \d{4}</time>', printable)
    assert client.get("/gains/report?year=1800").status_code == 400
