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
    """Whether ``text`` ends in a country's name ("56000 Kuala Lumpur, Malaysia.")."""
    words = _WORDS.findall(text.lower())
    names = country_names()
    return any(" ".join(words[-n:]) in names for n in (1, 2, 3) if len(words) >= n)
