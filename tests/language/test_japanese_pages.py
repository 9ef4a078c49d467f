"""The pages as served: the exchange's words on the Japanese wallet, the API keys page's words,
and page titles that never say the same thing twice, in either language."""
from __future__ import annotations

import html as html_module
import re

import pytest
from conftest import sign_in

NEVER = ("純資産", "使用中", "注文中", "利用可能")


def title_of(response) -> str:
    return html_module.unescape(re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S).group(1).strip())


def in_language(client, lang: str) -> None:
    client.set_cookie("lang", lang)


def assert_not_doubled(title: str) -> None:
    parts = [part.strip() for part in title.split("·")]
    assert all(parts), title
    for i, part in enumerate(parts):
        for other in parts[i + 1:]:
            assert part not in other and other not in part, title


@pytest.mark.parametrize("lang, site_name", [("ja", "ウォレット"), ("en", "Wallet dashboard")])
def test_no_page_title_is_doubled(client, demo, lang, site_name):
    in_language(client, lang)
    titles = {"/login": title_of(client.get("/login"))}
    sign_in(client)
    in_language(client, lang)
    for path in ("/", "/api-keys", "/no-such-page"):
        titles[path] = title_of(client.get(path))
    titles["created"] = title_of(client.post("/api-keys", data={"read_balances": "y"}))
    for title in titles.values():
        assert_not_doubled(title)
        assert title.endswith(site_name), title
    # The wallet is the home page: the site's name alone, never 「ウォレット · ウォレット」.
    assert titles["/"] == site_name
    assert titles["/api-keys"] == ("API キー · ウォレット" if lang == "ja" else "API keys · Wallet dashboard")
    assert len(set(titles.values())) == len(titles)


def test_the_title_check_catches_a_doubled_title():
    for doubled in ("ウォレット · ウォレット", "Wallet · Wallet dashboard"):
        with pytest.raises(AssertionError):
            assert_not_doubled(doubled)


def test_the_japanese_wallet_uses_the_exchanges_words(client, demo):
    sign_in(client)
    in_language(client, "ja")
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ja">' in page
    # On the wallet page 総資産 is said once, as the heading (the header leaves its figure out there).
    assert '<h2 id="net-assets-title">総資産</h2>' in page
    assert '<th scope="col">残高</th>' in page and '<th scope="col">利用中</th>' in page
    assert '<label for="show-in-header">ヘッダーに表示</label>' in page
    assert "「利用中」は、未約定の注文や手続き中の出金のために確保されている数量です。" in page
    assert "通貨別の資産" in page and "通貨別残高" not in page
    assert [word for word in NEVER if word in page] == []
    assert "Net Assets" not in page and "In Use" not in page
    # On every other page the header carries it: 総資産 and the figure.
    other = client.get("/api-keys").get_data(as_text=True)
    assert re.search(r'<span class="wallet-control-label" id="wallet-control-label">総資産</span>', other)


def test_the_japanese_api_keys_pages_say_what_each_address_is(client, demo):
    sign_in(client)
    in_language(client, "ja")
    created = client.post("/api-keys", data={"read_balances": "y"}).get_data(as_text=True)
    assert "<dt>シークレットキー</dt>" in created and "<dt>許可する IP アドレス</dt>" in created
    assert "<dd>制限なし</dd>" in created
    listing = client.get("/api-keys").get_data(as_text=True)
    assert '<h2 id="new-key-title">API キーの作成</h2>' in listing
    assert '<button type="submit">作成</button>' in listing
    assert '<h2 id="keys-title">作成済みの API キー</h2>' in listing
    assert "接続を許可する IP アドレス（任意）" in listing and "<td>制限なし</td>" in listing
    for old in ("キーを作成する", "お客様のキー", "すべて", ">シークレット<", "許可するアドレス"):
        assert old not in listing + created, old


def test_the_japanese_api_errors_read_as_japanese(client):
    body = client.get("/api/accounts/balance", headers={"Accept-Language": "ja"}).get_json()
    assert body["success"] is False
    assert body["error"] == "このリクエストには署名が必要です。ACCESS-KEY、ACCESS-NONCE、ACCESS-SIGNATURE の 3 つのヘッダーを付けて送信してください。"


def test_the_japanese_preferences_errors_are_spaced(signed_in):
    signed_in.set_cookie("lang", "ja")  # the page's language is the visitor's choice, not the browser's (issue 13)
    response = signed_in.post("/api/preferences", data="x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "設定は JSON 形式（Content-Type: application/json）で送信してください。"
