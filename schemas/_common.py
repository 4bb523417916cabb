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
