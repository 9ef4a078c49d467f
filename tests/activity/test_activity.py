"""The activity page and /api/activity: the signed-in account's journal, newest first, paginated,
reasons in the page's language (the NEM compensation with its figures), operator text as
written, bad page numbers refused clearly, amounts hidden in discreet mode."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from conftest import sign_in

from dashboard.accounts.store import create_account
from dashboard.extensions import db
from dashboard.ledger.changes import adjust, in_transaction
from dashboard.models import Currency

HEADER = "email,currency,available,in_use\n"


@pytest.fixture
def compensated(app, runner, demo, tmp_path):
    """The demo account bought 10,000 XEM in January 2018 (its seed sets today's figures, so a
    second account stands for the holder) and was compensated at the reference's rate."""
    with app.app_context():
        create_account("holder@example.com", "holderpass")
        db.session.commit()
    path = tmp_path / "jan.csv"
    path.write_text(HEADER + "holder@example.com,xem,10000,0\nholder@example.com,jpy,500,0\n")
    assert runner.invoke(args=["balances", "import", str(path), "--as-of", "2018-01-20T10:00:00+09:00"]).exit_code == 0
    out = tmp_path / "plan.csv"
    assert runner.invoke(args=["compensation", "plan", "--currency", "xem", "--rate", "88.549",
                               "--snapshot", "2018-01-26T23:59:59+09:00", "--out", str(out)]).exit_code == 0
    result = runner.invoke(args=["compensation", "apply", str(out)])
    assert result.exit_code == 0, result.output


def texts(html: str, css_class: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", match).strip() for match in re.findall(rf'class="{css_class}">(.*?)</', html, re.S)]


@pytest.mark.parametrize("language, reason, available, when", [
    ("en", "NEM compensation: ¥88.549 × 10,000 XEM", ["+885,490 JPY", "−10,000.000000 XEM", "+10,000.000000 XEM", "+500 JPY"],
     "Jan 20, 2018"),
    ("ja", "NEM 補償：88.549 円 × 10,000 XEM", ["+885,490 JPY", "−10,000.000000 XEM", "+10,000.000000 XEM", "+500 JPY"],
     "2018/01/20 10:00:00<"),
])
def test_the_compensation_shows_on_the_holders_activity_in_both_languages(app, client, compensated, language, reason, available, when):
    client.set_cookie("lang", language)
    sign_in(client, "holder@example.com", "holderpass")
    html = client.get("/activity").get_data(as_text=True)
    assert texts(html, "activity-reason")[:2] == [reason, reason]
    # A movement with its unit and a minus sign, never a negative balance.
    assert [figure for figure in re.findall(r'<dt>[^<]+</dt><dd><span class="nowrap">([^<]+)</span>', html)][::2] == available
    assert when in html
    # The zone is named once, in the lead, not on every entry.
    zone = "日本標準時" if language == "ja" else "Japan Standard Time"
    main = html.split('<main id="main"')[1].split("</main>")[0]  # the header's panel has its own "Rates as of"
    assert main.count(zone) == 1
    assert 'aria-current="page"' in html and "/activity" in html  # in the menu, marked as here


def test_each_entry_shows_its_currencys_own_icon_and_every_icon_loads(app, client, compensated):
    with app.app_context():
        account = db.session.execute(db.text("SELECT id FROM accounts WHERE email = 'holder@example.com'")).scalar_one()
        db.session.add(Currency(code="zzz", name="Unknown coin", decimals=2, display_order=99))
        db.session.commit()
        in_transaction(lambda: adjust(account, "zzz", available=Decimal(1), reason="test", source="test"))
    sign_in(client, "holder@example.com", "holderpass")
    icons = re.findall(r'<img src="([^"]+)"', client.get("/activity").get_data(as_text=True))
    assert icons == ["/static/icons/currencies/generic.svg", "/static/icons/currencies/jpy.svg",
                     "/static/icons/currencies/xem.svg", "/static/icons/currencies/xem.svg", "/static/icons/currencies/jpy.svg"]
    assert all(client.get(icon).status_code == 200 for icon in set(icons))


def test_the_api_gives_the_same_with_exact_strings(app, client, compensated):
    client.set_cookie("lang", "en")
    sign_in(client, "holder@example.com", "holderpass")
    document = client.get("/api/activity").get_json()
    assert (document["page"], document["pages"], document["total"], document["hide_amounts"]) == (1, 1, 4, False)
    first, second = document["entries"][:2]
    assert (first["currency"], first["available_change"], first["in_use_change"]) == ("jpy", "885490", "0")
    assert (second["currency"], second["available_change"], second["formatted"]["available_change"]) == ("xem", "-10000", "-10,000.000000")
    assert first["reason"] == "NEM compensation: ¥88.549 × 10,000 XEM" and first["reason_code"] == "compensation"
    assert document["entries"][3]["reason"] == "Balance import" and document["entries"][3]["currency"] == "jpy"
    assert first["time"].endswith("+00:00") and "Japan Standard Time" in first["formatted"]["time"]
    client.post("/language/", data={"lang": "ja"})  # signed in, the account's saved language wins over a cookie
    assert client.get("/api/activity").get_json()["entries"][0]["reason"] == "NEM 補償：88.549 円 × 10,000 XEM"


def test_an_operators_own_words_are_shown_as_written_and_escaped(app, client, demo):
    with app.app_context():
        account = db.session.execute(db.text("SELECT id FROM accounts")).scalar_one()
        in_transaction(lambda: adjust(account, "btc", available=Decimal("0.5"), reason="<b>Airdrop</b> 補填", source="test"))
    client.set_cookie("lang", "ja")
    sign_in(client)
    html = client.get("/activity").get_data(as_text=True)
    assert "&lt;b&gt;Airdrop&lt;/b&gt; 補填" in html and "<b>Airdrop" not in html
    assert texts(html, "activity-reason")[1:] == ["当初の資産"] * 12
    assert client.get("/api/activity").get_json()["entries"][0]["reason"] == "<b>Airdrop</b> 補填"


def test_pages_newest_first_with_links_both_ways(app, client, demo):
    with app.app_context():
        account = db.session.execute(db.text("SELECT id FROM accounts")).scalar_one()
        for n in range(1, 31):
            in_transaction(lambda n=n: adjust(account, "xrp", available=Decimal(n), reason=f"step {n}", source="test"))
    sign_in(client)
    client.set_cookie("lang", "en")
    # 12 from the seed + 30 = 42 entries: 20, 20 and 2.
    first = client.get("/activity").get_data(as_text=True)
    assert texts(first, "activity-reason")[:3] == ["step 30", "step 29", "step 28"]
    assert "Page 1 of 3" in first and 'rel="next" href="/activity?page=2"' in first and 'rel="prev"' not in first
    second = client.get("/activity?page=2").get_data(as_text=True)
    assert texts(second, "activity-reason")[0] == "step 10" and 'rel="prev" href="/activity"' in second
    third = client.get("/api/activity?page=3").get_json()
    assert [entry["reason"] for entry in third["entries"]] == ["Opening balance", "Opening balance"]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "", "٣", "１", "99999999", "1e3", " 1", "0x1"])
def test_bad_page_numbers_get_a_clear_answer(app, client, demo, page):
    sign_in(client)
    client.set_cookie("lang", "en")
    response = client.get("/activity", query_string={"page": page})
    assert response.status_code == 400
    assert "The page number must be a whole number from 1." in response.get_data(as_text=True)
    api = client.get("/api/activity", query_string={"page": page})
    assert api.status_code == 400 and api.get_json() == {"success": False, "error": "The page number must be a whole number from 1."}


def test_a_page_past_the_last_says_how_many_there_are(app, client, demo):
    sign_in(client)
    client.set_cookie("lang", "ja")
    response = client.get("/activity?page=7")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "7 ページはありません。履歴は 1 ページまでです。" in html and 'href="/activity"' in html
    assert client.get("/api/activity?page=2").status_code == 404


def test_an_account_sees_only_its_own_activity_and_strangers_none(app, client, compensated):
    sign_in(client)  # the demo account, not the holder
    reasons = [entry["reason"] for entry in client.get("/api/activity").get_json()["entries"]]
    assert reasons and not any("compensation" in reason for reason in reasons)
    client.post("/logout")
    other = app.test_client()
    assert other.get("/activity").status_code == 302
    response = other.get("/api/activity")
    assert response.status_code == 401 and response.get_json()["success"] is False


def test_discreet_mode_sends_no_amount_at_all(app, client, compensated, monkeypatch):
    from dashboard.activity import views

    monkeypatch.setattr(views, "hide_amounts", lambda: True)
    client.set_cookie("lang", "en")
    sign_in(client, "holder@example.com", "holderpass")
    html = client.get("/activity").get_data(as_text=True)
    assert "NEM compensation" in html and "885,490" not in html and "10,000" not in html and "88.549" not in html
    document = client.get("/api/activity").get_json()
    assert document["hide_amounts"] is True
    assert all(entry["available_change"] is None and entry["formatted"]["in_use_change"] is None for entry in document["entries"])
    assert document["entries"][0]["reason"] == "NEM compensation"


def test_an_empty_activity_says_so(app, client):
    with app.app_context():
        create_account("new@example.com", "newpass12")
        db.session.commit()
    sign_in(client, "new@example.com", "newpass12")
    client.set_cookie("lang", "en")
    assert "There is no activity yet." in client.get("/activity").get_data(as_text=True)
    assert client.get("/api/activity").get_json()["entries"] == []


def test_the_demo_years_steps_are_coded_and_said_in_each_language(app, client):
    from dashboard.ledger.demo import seed_demo

    with app.app_context():
        seed_demo(story=True)
    client.set_cookie("lang", "en")
    sign_in(client)
    pages = client.get("/api/activity").get_json()["pages"]
    entries = [entry for page in range(1, pages + 1)
               for entry in client.get(f"/api/activity?page={page}").get_json()["entries"]]
    story = [entry for entry in entries if entry["reason_code"] == "demo_activity"]
    assert {entry["reason"] for entry in story} == {
        "Deposit", "Withdrawal in progress", "Withdrawal", "Orders placed"}
    # The story's trades are fills, said with their figures (activity/reasons.py).
    fills = {entry["reason"] for entry in entries if entry["reason_code"] == "trade"}
    assert any(reason.startswith("Bought 10,000 XEM at ¥") for reason in fills), fills
    assert any(reason.startswith("Sold 0.3 DASH at ¥") for reason in fills), fills
    client.post("/language/", data={"lang": "ja"})
    japanese = {entry["reason"] for entry in client.get(f"/api/activity?page={pages}").get_json()["entries"]
                if entry["reason_code"] == "demo_activity"}
    assert japanese and japanese <= {"入金", "取引", "出金処理中", "出金", "注文"}


def test_a_demo_step_is_one_of_the_known_kinds():
    from dashboard.ledger.reasons import demo_activity

    assert demo_activity("trade").params == {"kind": "trade"}
    with pytest.raises(ValueError):
        demo_activity("gift")


def test_a_movement_shows_its_yen_value_at_its_time(app, client, demo):
    """The demo's year has rates for each entry's time: a crypto-asset's movement says what it was
    worth then, written as the wallet writes yen."""
    client.set_cookie("lang", "en")
    sign_in(client)
    html = client.get("/activity").get_data(as_text=True)
    values = re.findall(r'<span class="movement-jpy nowrap">\(([^)]+)\)</span>', html)
    assert values and all(re.fullmatch(r"[+\u2212]¥ [0-9,]+(\.[0-9]+)?", value) for value in values)
    assert "Demo:" not in html


def test_movement_and_its_yen_value():
    from dashboard.activity.presentation import movement, movement_jpy

    assert movement(Decimal("-500"), 6, "en", "XRP") == "\u2212500.000000 XRP"
    assert movement(Decimal("885490"), 0, "ja", "JPY") == "+885,490 JPY"
    assert movement(Decimal("0"), 2, "en", "BTC") == "0.00 BTC"
    assert movement_jpy(Decimal("-500"), Decimal("60.5"), "en") == "\u2212¥ 30,250"
    assert movement_jpy(Decimal("0.5"), Decimal("3"), "en") == "+¥ 1.5"
    assert movement_jpy(Decimal("1"), None, "en") is None
    assert movement_jpy(Decimal("0"), Decimal("3"), "en") is None
