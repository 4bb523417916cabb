"""Values as documents print them: money, dates, company and person names, addresses, ids;
and ``Doc``, a generated document with its truth."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from docintel.testing.synth.tables import (
    BUSINESS,
    CITIES,
    COUNTRIES,
    LEGAL,
    MONTHS,
    STREETS,
    SYLLABLES,
    SYMBOL,
)


@dataclass
class Doc:
    """A generated document: its PDF bytes, what it prints, and how it was made."""

    pdf: bytes
    truth: dict[str, Any]
    schema: str  # "invoice" | "receipt"
    layout: str
    language: str
    meta: dict[str, Any] = field(default_factory=dict)


def _money(rng: random.Random, v: float, style: str) -> str:
    neg = v < 0
    s = f"{abs(v):,.2f}"
    if style == "de":
        s = s.replace(",", "X").replace(".", ",").replace("X", ".")
    elif style == "fr":
        s = s.replace(",", " ").replace(".", ",")
    elif style == "ch":
        s = s.replace(",", "'")
    if abs(v) < 1000 and rng.random() < 0.3:
        s = s.replace(".", "").replace(",", "").replace("'", "").replace(" ", "")
        s = s[:-2] + ("," if style in ("de", "fr") else ".") + s[-2:]
    return ("-" if neg else "") + s


def _amount_text(rng: random.Random, v: float, style: str, cur: str, mode: int) -> str:
    s = _money(rng, v, style)
    sym = SYMBOL.get(cur, cur)
    if mode == 0:
        return s
    if mode == 1:
        return f"{sym}{s}" if len(sym) <= 2 and sym not in ("kr", "zł") else f"{s} {sym}"
    if mode == 2:
        return f"{s} {cur}"
    return f"{cur} {s}"


def _date_text(rng: random.Random, d: date, style: str, lang: str) -> str:
    months = MONTHS[lang].split()
    mon = months[d.month - 1]
    if style == "dmy/":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if style == "dmy/yy":
        return f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}"
    if style == "mdy/":
        return f"{d.month:02d}/{d.day:02d}/{d.year}"
    if style == "dmy.":
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    if style == "dmy-":
        return f"{d.day:02d}-{d.month:02d}-{d.year}"
    if style == "iso":
        return d.isoformat()
    if style == "d mon y":
        short = lang in ("en", "ms", "de", "nl", "sv") and rng.random() < 0.5
        return f"{d.day} {mon[:3] if short else mon} {d.year}"
    if style == "d. mon y":
        return f"{d.day}. {mon} {d.year}"
    if style == "mon d, y":
        return f"{mon} {d.day}, {d.year}"
    if style == "dd-mon-yy":
        return f"{d.day:02d}-{mon[:3].upper()}-{d.year % 100:02d}"
    return d.isoformat()


def _name(rng: random.Random, lang: str, legal: bool = True) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    parts = [word]
    if rng.random() < 0.6:
        parts.append(rng.choice(BUSINESS))
    if rng.random() < 0.25:
        parts.insert(0, "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize())
    if rng.random() < 0.15 and len(parts) > 1:  # "Kel & Dorson Trading"
        parts.insert(len(parts) - 1, "&")
        parts.insert(len(parts) - 1, rng.choice(SYLLABLES).capitalize() + "son")
    if legal:
        parts.append(rng.choice(LEGAL[lang] + (LEGAL["en"] if rng.random() < 0.2 else [])))
    name = " ".join(parts)
    return name.upper() if lang == "ms" or rng.random() < 0.15 else name


def _person(rng: random.Random) -> str:
    first = rng.choice(
        "Anna Ben Chen Dana Emil Farah Goh Hana Ivan Jun Kim Lea Mei Nur Omar".split()
    )
    last = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
    return f"{first} {last}"


def _address(rng: random.Random, lang: str) -> list[str]:
    street_name = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
    street = rng.choice(STREETS[lang]).format(
        # house numbers, and at times lot or plot numbers of up to five digits
        n=rng.randint(1, 250) if rng.random() < 0.75 else rng.randint(250, 99999),
        name=street_name if lang != "ms" else street_name.upper(),
        m=rng.randint(1, 20), k=rng.randint(1, 9),
    )  # fmt: skip
    city, code = rng.choice(CITIES[lang])
    code = code.format(k=rng.randint(1, 9))
    lines = [street]
    if rng.random() < 0.3:
        area = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
        lines.append(("TAMAN " + area.upper()) if lang == "ms" else f"{area} District")
    lines.append(f"{code} {city}" if lang != "en" or rng.random() < 0.5 else f"{city} {code}")
    country = rng.choice(COUNTRIES[lang])
    if country and rng.random() < 0.5:  # after the city, on its line
        lines[-1] += f", {country}"
    elif country:
        lines.append(country)
    return lines


def _id(rng: random.Random) -> str:
    shapes = [
        lambda: f"INV-{rng.randint(2019, 2026)}-{rng.randint(1, 99999):05d}",
        lambda: str(rng.randint(10000, 99999999)),
        lambda: str(rng.randint(100, 9999)),  # short numbers too
        lambda: f"{rng.choice('ABCDEFGHKMRS')}{rng.randint(100, 999999)}",
        lambda: f"{rng.randint(1, 999)}/{rng.randint(2019, 2026)}",
        lambda: (
            f"{rng.choice(['F', 'RE', 'FA', 'CS', 'TI'])}{rng.randint(10, 99)}-{rng.randint(1000, 99999)}"
        ),
        lambda: f"#{rng.randint(1000, 999999)}",
    ]
    return rng.choice(shapes)()


def _taxid(rng: random.Random, lang: str) -> str:
    prefix = {"de": "DE", "fr": "FR", "nl": "NL", "es": "ES", "it": "IT", "pt": "PT", "sv": "SE",
              "pl": "PL", "en": "GB", "ms": "000"}[lang]  # fmt: skip
    return f"{prefix}{rng.randint(100000000, 999999999)}"
