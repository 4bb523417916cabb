"""Text as documents print it: one place for folding, tokens, amounts, dates and currencies.

Grounding (is a value printed on the page?) and the CPU engine (which printed words fill a
field?) read the same things from the same words; they share these functions so that what one
reads the other finds.

* ``fold``/``runs``/``compact``: case-, accent- and whitespace-insensitive forms and tokens.
* ``misread``/``unglue``: words as OCR prints them ("J1n" is "Jln"; "TotalRM21.85" is two).
* ``parse_amount``: the numbers a printed amount can mean ("1,740.61", "1.740,61", "1 740,61",
  "1'740.61", "$", "EUR", "%", "(12.00)", "12.00-").
* ``parse_dates``: the dates a printed text can mean, in common formats and languages.
* Currencies: ISO 4217 codes from babel (CLDR), and one table of the signs and words that print
  them (``currency_codes`` and ``currency_forms`` read it both ways).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from typing import Any

# ---- currencies --------------------------------------------------------------------------------

# How currencies are printed besides their ISO code, most common reading first: "¥" is the yen
# before the yuan, "kr" the Swedish crown before the Norwegian and Danish ones.
_CURRENCY_FORMS: dict[str, tuple[str, ...]] = {
    "EUR": ("€", "euro", "euros", "€uro"),
    "USD": ("$", "us$", "dollars"),
    "GBP": ("£",),
    "JPY": ("¥", "yen"),
    "CNY": ("¥", "rmb"),
    "INR": ("₹", "rs", "rs.", "rupees"),
    "CHF": ("fr.", "fr", "sfr"),
    "SEK": ("kr",),
    "NOK": ("kr",),
    "DKK": ("kr",),
    "PLN": ("zł",),
    "KRW": ("₩",),
    "RUB": ("₽",),
    "TRY": ("₺",),
    "ILS": ("₪",),
    "VND": ("₫",),
    "PHP": ("₱",),
    "THB": ("฿",),
    "MYR": ("rm",),
}
_PRINTED_CURRENCY: dict[str, tuple[str, ...]] = {}
for _code, _forms in _CURRENCY_FORMS.items():
    for _form in (_code.lower(), *_forms):
        _PRINTED_CURRENCY[_form] = (*_PRINTED_CURRENCY.get(_form, ()), _code)


# Codes common enough on invoices and receipts to be read as a currency when printed bare in
# capitals; other ISO codes are ordinary words too often ("ALL", "TOP", "CUP").
COMMON_CURRENCIES = frozenset({
    "EUR", "USD", "GBP", "INR", "CHF", "JPY", "CNY", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK",
    "PLN", "CZK", "HUF", "RON", "BGN", "HRK", "TRY", "RUB", "UAH", "ZAR", "BRL", "MXN", "ARS",
    "CLP", "COP", "SGD", "HKD", "KRW", "TWD", "THB", "MYR", "IDR", "PHP", "VND", "AED", "SAR",
    "QAR", "KWD", "ILS", "EGP", "NGN", "KES", "PKR", "BDT", "LKR",
})  # fmt: skip


@lru_cache(maxsize=1)
def iso_currencies() -> frozenset[str]:
    """The ISO 4217 codes in legal tender somewhere today (babel's CLDR territory data)."""
    from babel.core import get_global

    return frozenset(
        code
        for currencies in get_global("territory_currencies").values()
        for code, _start, end, tender in currencies
        if end is None and tender
    )


def currency_codes(printed: str) -> tuple[str, ...]:
    """The ISO codes a printed sign, word or code can stand for ("¥" -> JPY, CNY; "rs" -> INR;
    "eur" -> EUR); () if none. Any ISO code counts when ``printed`` is one in capitals."""
    text = printed.strip()
    found = _PRINTED_CURRENCY.get(text.casefold())
    if found:
        return found
    return (text,) if len(text) == 3 and text.isupper() and text in iso_currencies() else ()


def currency_forms(code: str) -> tuple[str, ...]:
    """The signs and words that print ``code`` ("EUR" -> "€", "euro", ...)."""
    return _CURRENCY_FORMS.get(code.upper(), ())


@lru_cache(maxsize=1)
def currency_signs() -> dict[str, tuple[str, ...]]:
    """Printed signs and the codes they stand for, to find inside words ("$4.11", "zł"): the
    forms that are not plain ASCII words, which would match inside other words (one shared
    dict: do not change it)."""
    return {
        form: codes
        for form, codes in _PRINTED_CURRENCY.items()
        if not form.isascii() or not any(c.isalpha() for c in form)
    }


# ---- normalisation ----------------------------------------------------------------------------

_ALNUM_RUN = re.compile(r"[^\W_]+")
# Characters OCR and models confuse; folded only for fuzzy comparison.
LOOKALIKE = str.maketrans("oilsbzq", "0115820")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Casefolded, accents stripped ("Gebühr" -> "gebuhr"), whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def runs(text: str) -> list[str]:
    """The alphanumeric runs of a text, folded: its tokens, punctuation dropped."""
    return _ALNUM_RUN.findall(fold(text))


def compact(text: str) -> str:
    return "".join(runs(text))


# ---- words as OCR and tight layouts print them -----------------------------------------------


def misread(text: str) -> str:
    """A word with an "l" that OCR read as "I" after lower-case letters or as "1" in a word of
    letters ("WorId", "J1n", "Te1") read as printed: inside lower-case text neither is right.
    A dot between two letters ("INTERNATIONAL·SDN") is a space."""
    if "·" in text or "•" in text:  # a space OCR read as a dot: "INTERNATIONAL·SDN"
        text = _DOT_AS_SPACE.sub(" ", text)
    if "I" in text or "1" in text:
        text = _L_AS_I.sub("l", text)
        if not any(c.isdigit() for c in text.replace("1", "")):
            text = _L_AS_1.sub("l", text)
    return text


def dash_decimal(text: str) -> str | None:
    """An amount whose decimal point OCR read as a dash ("7-00", "RM22-60") as printed
    ("7.00"); None for anything else. Only where an amount is expected: "43-45" may be a lot."""
    m = _DASH_DECIMAL.fullmatch(text)
    return f"{m[1]}{m[2]}.{m[3]}" if m else None


def unglue(text: str) -> tuple[str, str] | None:
    """A label glued to its value, or a date to its time, as two parts: "No:#BLR-1",
    "No.12345", "TotalRM21.85", "25/01/20181:22:56PM"; None when the word is one thing."""
    m = (
        _GLUED.match(text)
        or _PREFIXED.match(text)
        or _DATE_TIME.match(text)
        or _LABEL_AMOUNT.match(text)
    )
    return (m[1], m[2]) if m else None


_DASH_DECIMAL = re.compile(r"((?:RM|[$€£¥₹])?)(\d{1,6})-(\d{2})")
_DOT_AS_SPACE = re.compile(r"(?<=[^\W\d_])[·•](?=[^\W\d_])")
_L_AS_I = re.compile(r"(?<=[a-z]{2})I(?=[a-z])")
_L_AS_1 = re.compile(r"(?<=[A-Za-z])1(?=[a-z])|(?<=[A-Z][a-z])1\b")
# A word and a colon glued to what follows: "No:#BLR-1", "Date:12/03/2018" (not "https://")
_GLUED = re.compile(r"^([^\W\d_]{2,}[^\W\d_.]*\.?:)((?!//)\S+)$")
# A date glued to the time after it: "25/01/20181:22:56PM", ":19-03-201818:08", "06-04-1611:53"
_DATE_TIME = re.compile(r"^:?(\d{1,2}[/.-]\d{1,2}[/.-](?:(?:19|20)\d\d|\d\d))(\d{1,2}[:.]\d\d\S*)$")
# A label glued to an amount with cents, a currency between or not: "TotalRM21.85"
_LABEL_AMOUNT = re.compile(r"^([^\W\d_]{3,}?)((?:RM|Rs\.?|[$€£¥₹])?\d[\d,]*[.,]\d{2})$")
# A short word ending in "." or "#" glued to a number: "No.12345", "Inv#0042", "Nr.7"
_PREFIXED = re.compile(r"^([^\W\d_]{1,8}[.#]+)(\d[\w\-/]*)$")


# ---- amounts -----------------------------------------------------------------------------------

_CURRENCY = "|".join(sorted((re.escape(form) for form in _PRINTED_CURRENCY), key=len, reverse=True))
_CUR_HEAD = re.compile(rf"^(?:{_CURRENCY})\s*", re.IGNORECASE)
_CUR_TAIL = re.compile(rf"\s*(?:{_CURRENCY}|%)$", re.IGNORECASE)
_GROUPED = re.compile(r"\d{1,3}(?:[ '’`´\u00a0\u202f]\d{3})+(?:[.,]\d+)?")
_DIGITS = re.compile(r"\d[\d.,]*")
NUMERIC_WORD = re.compile(rf"^[(\-+−]?(?:{_CURRENCY})?[\d.,'’`´%()\-+−]*$", re.IGNORECASE)


@lru_cache(maxsize=8192)
def parse_amount(text: str) -> tuple[float, ...]:
    """The numbers a printed amount can mean ("1,740" is 1740 or 1.74); () if none."""
    s = text.strip().replace("−", "-")
    while s and unicodedata.category(s[-1]) == "So":  # "100.00℃": a symbol OCR saw in a speck
        s = s[:-1].rstrip()
    neg = False
    if s.startswith("(") and s.endswith(")"):
        neg, s = True, s[1:-1].strip()
    for _ in range(2):  # "-$12", "$-12", "12 EUR-": peel signs and currency in any order
        s = _CUR_HEAD.sub("", _CUR_TAIL.sub("", s)).strip()
        if s[:1] in "-+" and s[:1]:
            neg, s = neg or s[0] == "-", s[1:].strip()
        if s.endswith("-"):
            neg, s = True, s[:-1].strip()
    if _GROUPED.fullmatch(s):
        s = re.sub(r"[ '’`´\u00a0\u202f]", "", s)
    s = s.rstrip(".")
    if not _DIGITS.fullmatch(s):
        return ()
    values = _separators(s)
    return tuple(-v if neg else v for v in values)


def _separators(s: str) -> list[float]:
    """Read thousands and decimal separators: the last of two kinds is the decimal one."""
    dots, commas = s.count("."), s.count(",")
    if not dots and not commas:
        return [float(s)]
    if dots and commas:
        dec = "." if s.rfind(".") > s.rfind(",") else ","
        thou = "," if dec == "." else "."
        head, _, tail = s.rpartition(dec)
        if thou in tail or not _thousands_ok(head.split(thou)):
            return []
        return [float(head.replace(thou, "") + "." + tail)]
    sep = "." if dots else ","
    parts = s.split(sep)
    if len(parts) > 2:  # "1.740.000": only thousands ("01.05.14" is a date, not a number)
        return [float("".join(parts))] if _thousands_ok(parts) else []
    head, tail = parts
    decimal = float(f"{head or 0}.{tail}")
    if len(tail) == 3 and _thousands_ok(parts) and not head.startswith("0"):
        return [decimal, float(head + tail)]  # "1,740": 1.74 or 1740
    return [decimal]


def _thousands_ok(groups: list[str]) -> bool:
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


def cents(value: float) -> int:
    return round(value * 100)


# ---- dates -------------------------------------------------------------------------------------

_MONTH_NAMES = {  # en de fr nl es it pt sv pl (nominative and genitive) ms, and abbreviations
    1: "january jan januar janv janvier januari enero ene gennaio gen janeiro styczen stycznia",
    2: "february feb februar fevrier fevr fev februari febrero febbraio fevereiro luty lutego",
    3: "march mar marz maerz mrz mars maart mrt marzo marco marzec marca mac",
    4: "april apr avril avr abril aprile abr kwiecien kwietnia",
    5: "may mai mei mayo maggio mag maio maj maja",
    6: "june jun juni juin junio giugno giu junho czerwiec czerwca",
    7: "july jul juli juillet juil julio luglio lug julho lipiec lipca julai",
    8: "august aug aout augustus agosto ago augusti sierpien sierpnia ogos ogo",
    9: "september sep sept septembre septiembre setiembre settembre set setembro wrzesien wrzesnia",
    10: "october oct oktober okt octobre octubre ottobre ott outubro out pazdziernik pazdziernika",
    11: "november nov novembre noviembre novembro listopad listopada",
    12: "december dec dezember dez decembre diciembre dicembre dic dezembro grudzien grudnia "
    "disember dis",
}
_MONTHS = {name: m for m, names in _MONTH_NAMES.items() for name in names.split()}
_D = r"(\d{1,2})(?:st|nd|rd|th|er|e)?"
_Y = r"(\d{4}|\d{2})"
_DATE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<!\d)(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(?<!\d)(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4}|\d{2})(?!\d)"), "xxy"),
    (re.compile(rf"(?<!\d){_D}\.?\s*[-/ ]?\s*([a-z]+)\.?\s*[-/ ,]?\s*{_Y}(?!\d)"), "dmy"),
    (re.compile(rf"(?<![a-z])([a-z]+)\.?\s*[-/ ]?\s*{_D}\s*,?\s*(\d{{4}})(?!\d)"), "mdy"),
    # compact: 20180304 (years 1970-2099 only: other runs of eight digits are numbers)
    (re.compile(r"(?<!\d)(19[7-9]\d|20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)"), "ymd"),
    # 27032018: a day-first date whose separators OCR dropped (day and month either way)
    (re.compile(r"(?<!\d)([0-3]\d)([0-3]\d)(19[7-9]\d|20\d\d)(?!\d)"), "xxy"),
]


def _year(y: str) -> int:
    n = int(y)
    return n if len(y) == 4 else (2000 + n if n < 70 else 1900 + n)


def _make(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def parse_dates(text: str, whole: bool = False) -> tuple[date, ...]:
    """The dates a printed text can mean ("02/05/2024" is 2 May or 5 Feb).

    ``whole``: the date must be the whole text (multi-word spans), not a part of it.
    """
    folded = fold(text)
    if whole:
        folded = folded.strip(" :;,()[]")
    out: list[date] = []
    for pattern, order in _DATE_PATTERNS:
        matches = [pattern.fullmatch(folded)] if whole else list(pattern.finditer(folded))
        for m in matches:
            if m is None:
                continue
            a, b, c = m.groups()
            if order == "ymd":
                found = [_make(int(a), int(b), int(c))]
            elif order == "xxy":
                y = _year(c)
                found = [_make(y, int(b), int(a)), _make(y, int(a), int(b))]
            elif order == "dmy":
                found = [_make(_year(c), _MONTHS.get(b, 0), int(a))]
            else:
                found = [_make(int(c), _MONTHS.get(a, 0), int(b))]
            out.extend(d for d in found if d is not None and d not in out)
    return tuple(out)


_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?")


def as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and (m := _ISO.fullmatch(value.strip())):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    return None
