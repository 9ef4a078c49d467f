"""The style rules of GLOSSARY.md that a program can check, over every Japanese msgstr."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "dashboard/translations/ja/LC_MESSAGES/messages.po"

JAPANESE = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u3005"  # kana (with ー and ・), kanji, 々
JA = f"[{JAPANESE}]"
LATIN = "[A-Za-z0-9]"
FULL_WIDTH_PUNCTUATION = "、。「」（）："
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")
TRY_AGAIN = "もう一度お試しください。"
NEVER = ("純資産", "使用中", "注文中")
SENTENCE_ENDINGS = ("です", "ます", "ません", "ました", "でした", "ください")


def catalogue() -> dict[str, str]:
    with PO.open("rb") as po_file:
        return {message.id: message.string for message in read_po(po_file) if message.id and isinstance(message.id, str)}


CATALOGUE = catalogue()
JAPANESE_ENTRIES = {msgid: msgstr for msgid, msgstr in CATALOGUE.items() if re.search(JA, msgstr)}


# Each rule is a function from a msgstr to the list of what is wrong with it, so it can be tried
# on known-bad strings below as well as on the catalogue.

def half_width_punctuation(msgstr: str) -> list[str]:
    text = PLACEHOLDER.sub("X", msgstr)
    found = re.findall(rf"{JA}[(),:;]|[(),:;]{JA}", text)
    found += re.findall(rf"\([^()]*{JA}[^()]*\)", text)
    return found


def full_width_latin(msgstr: str) -> list[str]:
    # Full-width ASCII forms other than the punctuation Japanese uses (（）：！？), and the ideographic space.
    return re.findall(r"[\uff01-\uff5e\u3000]", re.sub(r"[（）：！？]", "", msgstr))


def spacing(msgstr: str) -> list[str]:
    text = PLACEHOLDER.sub("X", msgstr)  # a placeholder is Latin text once filled in
    found = re.findall(rf"{JA}{LATIN}|{LATIN}{JA}", text)
    found += re.findall(rf"{JA} +{JA}", text)
    found += re.findall(rf" +[{FULL_WIDTH_PUNCTUATION}]|[{FULL_WIDTH_PUNCTUATION}] +", text)
    found += re.findall(r"  +", text)
    return found


def try_again(msgstr: str) -> list[str]:
    found = [word for word in ("再度お試し", "再試行", "やり直してください") if word in msgstr]
    for match in re.finditer("お試しください", msgstr):
        before = msgstr[: match.start()]
        if not before.endswith("もう一度") or not (before[:-4] == "" or before[:-4].endswith(("。", "、"))):
            found.append(msgstr[max(0, match.start() - 8): match.end()])
    return found


def desu_masu(msgstr: str) -> list[str]:
    """Every sentence (up to 。) ends in です・ます; what follows a ： (a list, a placeholder)
    and a closing parenthetical are not the sentence's ending."""
    wrong = []
    for sentence in msgstr.split("。")[:-1]:
        ending = re.sub(r"（[^（）]*）$", "", sentence).rsplit("：", 1)[0]
        if not ending.endswith(SENTENCE_ENDINGS):
            wrong.append(sentence)
    return wrong


def label_form(msgstr: str) -> list[str]:
    return [msgstr] if "。" not in msgstr and msgstr.endswith(("する", "します")) else []


def bare_address(msgstr: str) -> list[str]:
    """「アドレス」 alone reads as a crypto-asset address: say メールアドレス or IP アドレス."""
    return [
        msgstr[max(0, match.start() - 6): match.end()]
        for match in re.finditer("アドレス", msgstr)
        if not msgstr[: match.start()].endswith(("メール", "IP ", "IPv6 の"))
    ]


def never_words(msgstr: str) -> list[str]:
    return [word for word in NEVER if word in msgstr]


RULES = [half_width_punctuation, full_width_latin, spacing, try_again, desu_masu, label_form, bare_address, never_words]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_every_japanese_entry_keeps_the_rule(rule):
    assert len(JAPANESE_ENTRIES) > 50
    broken = {msgid: found for msgid, msgstr in JAPANESE_ENTRIES.items() if (found := rule(msgstr))}
    assert broken == {}


@pytest.mark.parametrize(
    "rule, bad",
    [
        (half_width_punctuation, "設定はJSON 形式(Content-Type: application/json)で送信してください。"),
        (half_width_punctuation, "次の通貨は総資産に含まれていません:"),
        (half_width_punctuation, "入力してください(任意)"),
        (full_width_latin, "ACCESS-NONCE ＋ リクエスト"),
        (full_width_latin, "１０ 件"),
        (spacing, "JSON形式で送信してください。"),
        (spacing, "このURLは"),
        (spacing, "URLが長すぎます。"),
        (spacing, "API キー %(key)sは無効です。"),
        (spacing, "%(count)d件"),
        (spacing, "ヘッダー に表示"),
        (spacing, "総資産 ："),
        (try_again, "しばらく待ってから再度お試しください。"),
        (try_again, "時間をおいてもう一度お試しください。"),
        (try_again, "再試行してください。"),
        (desu_masu, "保存できなかった。"),
        (desu_masu, "リクエストが大きすぎる。"),
        (label_form, "キーを作成する"),
        (bare_address, "この API キーはお客様のアドレスからは使用できません。"),
        (bare_address, "許可するアドレス"),
        (never_words, "純資産"),
        (never_words, "「注文中」は未約定の注文です。"),
    ],
)
def test_each_rule_catches_what_it_is_for(rule, bad):
    assert rule(bad)


@pytest.mark.parametrize(
    "rule, good",
    [
        (half_width_punctuation, "設定は JSON 形式（Content-Type: application/json）で送信してください。"),
        (half_width_punctuation, "API キー %(key)s を無効化しました。"),
        (spacing, "IP アドレスまたはネットワークではありません：%(entries)s。"),
        (spacing, "ACCESS-KEY、ACCESS-NONCE、ACCESS-SIGNATURE の 3 つのヘッダー"),
        (try_again, "保存できませんでした。もう一度お試しください。"),
        (desu_masu, "1 行に 1 つずつ入力してください（例：192.0.2.10）。"),
        (bare_address, "IPv4 または IPv6 のアドレスかネットワーク"),
    ],
)
def test_the_rules_let_good_japanese_through(rule, good):
    assert rule(good) == []


def test_try_again_has_one_phrasing():
    using = {msgid: msgstr for msgid, msgstr in CATALOGUE.items() if "try again" in msgid.lower()}
    assert len(using) >= 5
    assert {msgid: msgstr for msgid, msgstr in using.items() if TRY_AGAIN not in msgstr} == {}


def test_sentences_end_as_sentences():
    """An English sentence is a Japanese sentence (。), an English lead-in (:) a Japanese one (：)."""
    wrong = {
        msgid: msgstr
        for msgid, msgstr in JAPANESE_ENTRIES.items()
        if (msgid.endswith(".") and not msgstr.endswith("。")) or (msgid.endswith(":") and not msgstr.endswith("："))
    }
    assert wrong == {}


@pytest.mark.parametrize("pattern", ["templates/**/*.html", "dashboard/**/*.py", "static/**/*.js"])
def test_no_never_word_outside_the_catalogue(pattern):
    hard_coded = {str(path.relative_to(ROOT)): never_words(path.read_text(encoding="utf-8")) for path in ROOT.glob(pattern)}
    assert len(hard_coded) > 0
    assert {path: words for path, words in hard_coded.items() if words} == {}
