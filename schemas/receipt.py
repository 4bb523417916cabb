"""Receipt: the SROIE fields (company, address, date, total) and the items bought."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from docintel.checks.semantic import Ground, check

from ._common import Amount, ClockTime, Currency, IsoDate, ShortText, Text, bad_date, bad_time


class ReceiptItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Text = Field(description="The item as printed.")
    quantity: Amount | None = Field(None, description="Quantity, if printed.")
    amount: Amount = Field(description="Price paid for this line.")


class Receipt(BaseModel):
    """A till receipt or sales slip."""

    model_config = ConfigDict(extra="forbid")
    merchant: Annotated[ShortText, Ground()] = Field(
        description="The shop or company name at the top (SROIE 'company')."
    )
    address: Text | None = Field(None, description="The merchant's address on one line.")
    date: IsoDate = Field(description="Purchase date as YYYY-MM-DD.")
    time: ClockTime | None = Field(None, description="Purchase time as HH:MM or HH:MM:SS.")
    items: list[ReceiptItem] = Field(default_factory=list, max_length=100)
    tax: Amount | None = Field(None, description="Tax amount, if printed.")
    total: Annotated[Amount, Ground()] = Field(description="The total paid.")
    currency: Currency | None = None

    @check
    def real_date_and_time(self) -> list[str]:
        return [e for e in (bad_date("date", self.date), bad_time("time", self.time)) if e]

    @check
    def items_within_total(self) -> str | None:
        # Receipts add tax, service and rounding to the items, so the items may be less than
        # the total but never more.
        if self.items:
            items = sum(i.amount for i in self.items)
            if items > self.total + 0.011:
                return f"items sum to {items:.2f}, more than the total {self.total}"
        return None
