"""Shared field types for the catalog: grammar-safe dates, times, amounts and currencies."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

from pydantic import Field

# ASCII digits only: "\d" would let a model emit any Unicode digit.
IsoDate = Annotated[
    str,
    Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="Date as YYYY-MM-DD."),
]
ClockTime = Annotated[
    str, Field(pattern=r"^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$", description="Time as HH:MM or HH:MM:SS.")
]
Amount = Annotated[float, Field(allow_inf_nan=False, description="A number, no currency sign.")]
Text = Annotated[str, Field(max_length=200)]
ShortText = Annotated[str, Field(max_length=80)]

# ISO 4217 active codes (2024).
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()  # noqa: SIM905
)
Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, e.g. EUR, USD, INR.")
]


def bad_date(name: str, value: str | None) -> str | None:
    """An error message when ``value`` is not a real calendar date."""
    if value is None:
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"{name} {value!r} is not a real calendar date (YYYY-MM-DD)"
    return None


def bad_time(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        time.fromisoformat(value)
    except ValueError:
        return f"{name} {value!r} is not a real time of day (HH:MM or HH:MM:SS)"
    return None


def close(a: float, b: float, *, abs_tol: float = 0.011, rel_tol: float = 0.001) -> bool:
    """Equal within rounding: a cent, or 0.1% for large sums."""
    return abs(a - b) <= max(abs_tol, rel_tol * max(abs(a), abs(b)))
