"""Place names as documents print them: the countries an address may end in."""

from __future__ import annotations

import re
from functools import lru_cache

# The languages whose country names are known: those of the label vocabulary
# (engines/cpu/vocab.py) and of the generated documents.
LANGUAGES = ("en", "de", "fr", "nl", "es", "it", "pt", "sv", "pl", "ms", "da", "fi", "no", "cs")

_WORDS = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def country_names() -> frozenset[str]:
    """Every country's name in ``LANGUAGES``, lower case ("malaysia", "deutschland",
    "united kingdom"): babel's CLDR data. (Not their codes: "CAN", "ARE" and "COM" are words.)"""
    from babel import Locale

    names = {
        " ".join(_WORDS.findall(name.lower()))
        for lang in LANGUAGES
        for code, name in Locale.parse(lang).territories.items()
        if code.isalpha()  # countries, not regions such as "150" (Europe)
    }
    return frozenset(n for n in names if n)


def ends_in_country(text: str) -> bool:
    """Whether ``text`` ends in a country's name, alone or after a comma or a number
    ("56000 Kuala Lumpur, Malaysia.", "MALAYSIA"; not "Newark, New Jersey", which ends in the
    name of Jersey but not after a comma)."""
    tail = re.split(r"[,;\d]", text)[-1]
    return " ".join(_WORDS.findall(tail.lower())) in country_names()
