"""Bytes to text whatever the label says: declared, mislabelled or undeclared."""

from __future__ import annotations

from app.inbound.mail.charsets import clean_text, codecs_for, decode_bytes


def test_declared_charsets_are_read_as_the_supersets_senders_use() -> None:
    assert decode_bytes("„Zitat“ – 5 €".encode("cp1252"), "iso-8859-1")[0] == "„Zitat“ – 5 €"
    assert decode_bytes("鍝".encode("gb18030"), "gb2312")[0] == "鍝"  # GBK beyond GB2312
    assert decode_bytes("①番".encode("cp932"), "shift_jis")[0] == "①番"  # NEC extension
    assert decode_bytes("Привет".encode("koi8_r"), "KOI8-R")[0] == "Привет"
    assert decode_bytes("Ελλάδα".encode("cp1253"), "windows-1253")[0] == "Ελλάδα"
    assert decode_bytes("ｱｲｳ".encode("iso2022_jp_ext"), "iso-2022-jp")[0] == "ｱｲｳ"
    assert decode_bytes("한국어".encode("cp949"), "ks_c_5601-1987")[0] == "한국어"


def test_utf8_sent_under_a_latin1_label_is_read_as_utf8() -> None:
    assert decode_bytes("Grüße, Çağrı".encode(), "iso-8859-1") == ("Grüße, Çağrı", "utf-8")


def test_unknown_or_meaningless_labels_fall_back() -> None:
    assert codecs_for("x-unknown") == ()
    assert codecs_for("unicode_escape") == ()
    assert codecs_for("base64") == ()
    assert decode_bytes("naïve".encode(), "x-no-such-charset")[0] == "naïve"
    assert decode_bytes(b"plain ascii", "unknown-8bit")[0] == "plain ascii"


def test_undeclared_8bit_text_is_guessed() -> None:
    assert decode_bytes("тест тест".encode("koi8_r"))[0] == "тест тест"
    assert decode_bytes("Привет, как дела? Всё хорошо.".encode("cp1251"))[0] == (
        "Привет, как дела? Всё хорошо."
    )
    long_latin = "Ça coûte très cher, déjà réglé à l'hôtel près de la forêt. " * 3
    assert decode_bytes(long_latin.encode("cp1252"))[0] == long_latin
    assert decode_bytes("テスト".encode("iso2022_jp"))[0] == "テスト"


def test_hints_decide_for_short_undeclared_text() -> None:
    data = "ТЕСТ".encode("koi8_r")
    assert decode_bytes(data, None, ["koi8-r"])[0] == "ТЕСТ"


def test_a_few_bad_bytes_keep_the_label() -> None:
    text, codec = decode_bytes("Příliš žluťoučký kůň".encode() + b"\xff", "utf-8")
    assert codec == "utf-8"
    assert text.startswith("Příliš žluťoučký kůň")


def test_output_is_always_storable() -> None:
    assert clean_text("a\x00b\x01c\ud800d\ufeffe\tf\ng") == "abc\ufffdde\tf\ng"
    text, _ = decode_bytes(b"\x00\x00\xff\xfe\x00")
    assert "\x00" not in text
