"""Bytes to text for mail: the declared charset when it is right, a good guess when it is
wrong or missing, and never an exception.

Mail in the wild mislabels its text constantly: UTF-8 sent as ISO-8859-1, Windows
"smart quotes" inside ISO-8859-1, GBK inside GB2312, Shift_JIS extensions, raw 8-bit
headers with no charset at all. The order of attempts below is what survives that:

1. the declared charset, mapped to the superset real mailers actually use
   (ISO-8859-1 -> windows-1252, GB2312 -> GB18030, Shift_JIS -> cp932, ...);
2. but valid multi-byte UTF-8 wins over a declared single-byte charset: a Latin-1 text
   that happens to be valid UTF-8 is vanishingly rare, the opposite mislabel is common;
3. then UTF-8, the charsets declared elsewhere in the same message, and the caller's
   fallbacks, each only if it decodes strictly and reads plausibly;
4. then charset-normalizer's statistical guess for text long enough to measure;
5. then a plausibility score over common legacy charsets for short strings (headers);
6. and last the declared charset (or windows-1252) with replacement characters.

Every text that leaves this module is safe for PostgreSQL: no NUL, no lone surrogates.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Sequence

from charset_normalizer import from_bytes

# Declared names (lower case, as mail spells them) -> the codecs to try, best first.
# The supersets decode everything the label promises plus what senders really put in.
_ALIASES: dict[str, tuple[str, ...]] = {
    "iso-8859-1": ("cp1252",),
    "iso8859-1": ("cp1252",),
    "iso_8859-1": ("cp1252",),
    "latin1": ("cp1252",),
    "latin-1": ("cp1252",),
    "l1": ("cp1252",),
    "cp819": ("cp1252",),
    "iso-8859-9": ("cp1254",),
    "latin5": ("cp1254",),
    "iso-8859-11": ("cp874",),
    "tis-620": ("cp874",),
    "windows-874": ("cp874",),
    "iso-8859-8-i": ("iso8859_8",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "cp936": ("gb18030",),
    "euc-cn": ("gb18030",),
    "csgb2312": ("gb18030",),
    "gb_2312-80": ("gb18030",),
    "chinese": ("gb18030",),
    "big5": ("big5hkscs", "cp950"),
    "x-x-big5": ("big5hkscs", "cp950"),
    "cn-big5": ("big5hkscs", "cp950"),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "shift-jis": ("cp932", "shift_jis_2004"),
    "sjis": ("cp932", "shift_jis_2004"),
    "x-sjis": ("cp932", "shift_jis_2004"),
    "ms_kanji": ("cp932",),
    "windows-31j": ("cp932",),
    "csshiftjis": ("cp932",),
    "euc-jp": ("euc_jp", "euc_jis_2004"),
    "x-euc-jp": ("euc_jp", "euc_jis_2004"),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_3"),
    "csiso2022jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"),
    "iso-2022-jp-2": ("iso2022_jp_2", "iso2022_jp_3"),
    "euc-kr": ("cp949",),
    "ks_c_5601-1987": ("cp949",),
    "ks_c_5601": ("cp949",),
    "ksc5601": ("cp949",),
    "korean": ("cp949",),
    "csksc56011987": ("cp949",),
    "windows-949": ("cp949",),
    "utf8": ("utf-8",),
    "unicode-1-1-utf-8": ("utf-8",),
    "x-unicode20utf8": ("utf-8",),
    "macintosh": ("mac_roman",),
    "x-mac-roman": ("mac_roman",),
    "x-mac-cyrillic": ("mac_cyrillic",),
}

# Labels that say nothing about the bytes.
_MEANINGLESS = frozenset(
    {
        "",
        "us-ascii",
        "ascii",
        "ansi_x3.4-1968",
        "iso646-us",
        "646",
        "unknown-8bit",
        "x-unknown",
        "unknown",
        "default",
        "charset",
        "none",
        "x-user-defined",
        "8bit",
        "binary",
    }
)

# Python "text encodings" that are not charsets a sender could mean.
_NOT_CHARSETS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "undefined", "idna", "punycode", "mbcs", "oem"}
)

# Tried for short undeclared text, scored by how plausible the result reads.
_SHORT_TEXT_CANDIDATES = (
    "cp1252",
    "cp1250",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1257",
    "gb18030",
    "cp932",
    "cp949",
    "big5hkscs",
)

# How common each charset is in mail, most first: the tie-breaker between readings a
# statistical detector finds equally clean.
_COMMON_IN_MAIL = (
    "utf_8",
    "cp1252",
    "iso8859_15",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
    "gb18030",
    "cp932",
    "shift_jis",
    "euc_jp",
    "cp949",
    "euc_kr",
    "big5",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "koi8_u",
    "cp874",
)

_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 controls but tab, line feed, form feed and carriage return; DEL; and the byte order
# mark, which some clients leave at the start of every part.
_UNSAFE_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufeff]")


def clean_text(text: str) -> str:
    """Text PostgreSQL can store and a person can read: no NUL or other C0 controls
    (tab, line feed, form feed and carriage return stay), no byte order marks, no lone
    surrogates."""
    if _UNSAFE_CONTROLS.search(text):
        text = _UNSAFE_CONTROLS.sub("", text)
    if _LONE_SURROGATES.search(text):
        text = _LONE_SURROGATES.sub("\ufffd", text)
    return text


def codecs_for(label: str | None) -> tuple[str, ...]:
    """The Python codecs to try for a declared charset label, best first; empty when the
    label is missing, meaningless or unknown."""
    if label is None:
        return ()
    name = label.strip().strip("\"'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    if name in _MEANINGLESS:
        return ()
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return ()
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _NOT_CHARSETS:
        return ()
    if info.name in ("iso8859-1", "latin-1"):
        return ("cp1252",)
    return (info.name,)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _has_multibyte_utf8(data: bytes) -> str | None:
    """The text when `data` is valid UTF-8 with at least one non-ASCII character."""
    if data.isascii():
        return None
    return _strict(data, "utf-8")


def plausibility(text: str) -> float:
    """How much `text` reads like something a person wrote: 1.0 is clean, lower is worse.

    Wrong single-byte guesses show as control or unassigned characters, symbols where
    letters belong, words that jump between scripts, and (for Cyrillic, where KOI8-R
    and windows-1251 swap the cases) capitals after small letters inside a word.
    """
    letters = bad = 0
    previous_script = ""
    previous_lower = False
    for char in text:
        if char.isascii():
            previous_script = "" if not char.isalpha() else "latin"
            previous_lower = char.islower()
            continue
        category = unicodedata.category(char)
        if category[0] == "L":
            letters += 1
            script = _script(char)
            if previous_script and script != previous_script:
                bad += 1
            if script == "cyrillic" and previous_lower and char.isupper():
                bad += 1
            previous_script = script
            previous_lower = char.islower()
        elif category in ("Cc", "Cn", "Co", "Cs") or char == "\ufffd":
            bad += 3
            previous_script = ""
        elif category[0] in ("S", "P") and char not in "«»–—‘’“”„…€•·°§©®™¡¿":
            bad += 1
            previous_script = ""
        else:
            previous_script = ""
    non_ascii = sum(1 for char in text if not char.isascii())
    if non_ascii == 0:
        return 1.0
    score = 1.0 - bad / non_ascii
    # Cyrillic text is mostly lower case; all-capital Cyrillic is usually KOI8-R bytes
    # read as windows-1251 (or the reverse).
    cyrillic = [char for char in text if "\u0400" <= char <= "\u04ff"]
    if len(cyrillic) >= 3:
        upper = sum(1 for char in cyrillic if char.isupper())
        if upper / len(cyrillic) > 0.6:
            score -= 0.3
    # Latin text has accents here and there between plain letters, not words made of
    # accented capitals only ("ÔÅÓÔ" is KOI8-R read as windows-1252).
    latin_extended = sum(1 for char in text if "\u00c0" <= char <= "\u024f")
    ascii_letters = sum(1 for char in text if char.isascii() and char.isalpha())
    if latin_extended >= 3 and latin_extended > ascii_letters:
        score -= 0.4
    return score


def _script(char: str) -> str:
    code = ord(char)
    if code < 0x250:
        return "latin"
    if 0x370 <= code < 0x400:
        return "greek"
    if 0x400 <= code < 0x530:
        return "cyrillic"
    if 0x590 <= code < 0x600:
        return "hebrew"
    if 0x600 <= code < 0x700:
        return "arabic"
    if 0x3040 <= code < 0x3100 or 0x31F0 <= code < 0x3200 or 0xFF61 <= code < 0xFFA0:
        return "cjk"  # kana sits beside ideographs in Japanese text
    if 0x4E00 <= code < 0xA000 or 0x3400 <= code < 0x4DC0 or 0xF900 <= code < 0xFB00:
        return "cjk"
    if 0xAC00 <= code < 0xD7B0 or 0x1100 <= code < 0x1200 or 0x3130 <= code < 0x3190:
        return "hangul"
    if 0xFF00 <= code < 0xFF61:
        return "latin"  # full-width Latin letters
    return "other"


def _best_short_guess(data: bytes, preferred: Sequence[str]) -> tuple[str, str] | None:
    best: tuple[float, int, str, str] | None = None
    candidates = [*preferred, *(c for c in _SHORT_TEXT_CANDIDATES if c not in preferred)]
    for rank, codec in enumerate(candidates):
        text = _strict(data, codec)
        if text is None:
            continue
        # Earlier candidates (declared elsewhere in the message, configured) win ties.
        key = (plausibility(text), -rank, text, codec)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None or best[0] < 0.5:
        return None
    return best[2], best[3]


def _statistical_guess(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's reading, re-ranked: among the readings about as clean as
    its best one, the charset most used in mail wins (it otherwise happily reads a
    short French text as Baltic, whose letters decode just as cleanly)."""
    try:
        matches = list(from_bytes(data[:65536]))
    except Exception:  # the detector is heuristic code; its failure is not ours to raise
        return None
    if not matches:
        return None
    cleanest = min(match.chaos for match in matches)
    if cleanest > 0.25:
        return None
    close = [match for match in matches if match.chaos <= cleanest + 0.1]
    ranked = [c for c in _COMMON_IN_MAIL if any(c in m.could_be_from_charset for m in close)]
    ranked += [match.encoding for match in close]
    for codec in ranked:
        text = _strict(data, codec)
        if text is not None and plausibility(text[:4096]) >= 0.6:
            return text, codec
    return None


def decode_bytes(
    data: bytes, declared: str | None = None, hints: Iterable[str | None] = ()
) -> tuple[str, str]:
    """Decode `data` as well as it can be; returns (text, codec used). Never raises.

    `declared` is the charset the sender named for these bytes; `hints` are charsets
    seen elsewhere in the message or configured as fallbacks, tried when the bytes carry
    no (usable) label.
    """
    declared_codecs = codecs_for(declared)
    if data.isascii():
        # 7-bit charsets look like ASCII; an escape sequence gives ISO-2022-JP away.
        seven_bit = [c for c in declared_codecs if c.startswith("iso2022") or c == "utf-7"]
        if not seven_bit and b"\x1b$" in data:
            seven_bit = list(_ALIASES["iso-2022-jp"])
        for codec in seven_bit:
            text = _strict(data, codec)
            if text is not None:
                return clean_text(text), codec
        return clean_text(data.decode("ascii")), "ascii"

    utf8 = _has_multibyte_utf8(data)
    if utf8 is not None and (not declared_codecs or declared_codecs[0] != "utf-8"):
        # Valid multi-byte UTF-8 beats a single- or double-byte label (see module doc),
        # except for labels whose own strict decoding reads at least as well.
        for codec in declared_codecs:
            text = _strict(data, codec)
            multibyte = codec in ("gb18030", "cp932", "big5hkscs", "cp949")
            if text is not None and multibyte and plausibility(text) > plausibility(utf8) + 0.2:
                return clean_text(text), codec
        return clean_text(utf8), "utf-8"
    for codec in declared_codecs:
        text = _strict(data, codec)
        if text is not None:
            return clean_text(text), codec

    hint_codecs: list[str] = []
    for hint in hints:
        for codec in codecs_for(hint):
            if codec not in hint_codecs and codec not in declared_codecs:
                hint_codecs.append(codec)
    for codec in hint_codecs:
        text = _strict(data, codec)
        if text is not None and plausibility(text) >= 0.6:
            return clean_text(text), codec

    if declared_codecs:
        # Labelled but not strictly decodable: a few bad bytes in otherwise right text
        # (a truncated UTF-8 sequence, one stray byte) keep the label.
        codec = declared_codecs[0]
        text = data.decode(codec, errors="replace")
        if text.count("\ufffd") <= max(2, len(text) // 200):
            return clean_text(text), codec

    guess = _statistical_guess(data) if len(data) >= 48 else None
    if guess is None:
        guess = _best_short_guess(data, hint_codecs)
    if guess is not None:
        return clean_text(guess[0]), guess[1]
    codec = declared_codecs[0] if declared_codecs else "cp1252"
    return clean_text(data.decode(codec, errors="replace")), codec
