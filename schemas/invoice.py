"""Invoice: the fields of the commercial invoice APIs, with arithmetic and date checks."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from docintel.checks.semantic import Ground, check
from docintel.text.values import iso_currencies

from ._common import Amount, Currency, IsoDate, ShortText, Text, bad_date, close


class Party(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText | None = Field(None, description="Company or person name, as printed.")
    address: Text | None = Field(None, description="Postal address on one line, comma-separated.")
    tax_id: ShortText | None = Field(
        None, description="VAT, GST, EIN or other tax id, exactly as printed (no label)."
    )


class InvoiceLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Text = Field(description="The item or service, as printed on its line.")
    quantity: Amount | None = Field(None, description="Quantity; null if the line shows none.")
    unit: ShortText | None = Field(None, description="Unit such as pcs, h, kg; null if none.")
    unit_price: Amount | None = Field(None, description="Price of one unit, before tax.")
    tax_rate: Amount | None = Field(None, description="Tax rate in percent, e.g. 19 for 19%.")
    amount: Amount = Field(description="Line total as printed (normally quantity x unit price).")

    @check
    def quantity_times_price(self) -> str | None:
        if self.quantity is not None and self.unit_price is not None:
            expected = self.quantity * self.unit_price
            if not close(expected, self.amount, abs_tol=0.02):
                return (
                    f"quantity {self.quantity} x unit_price {self.unit_price} = {expected:.2f}, "
                    f"not amount {self.amount}"
                )
        return None


class Invoice(BaseModel):
    """A commercial invoice. Amounts as plain numbers; dates as YYYY-MM-DD."""

    model_config = ConfigDict(extra="forbid")
    vendor: Party = Field(description="Who issued the invoice (seller).")
    customer: Party = Field(description="Who is billed (buyer, 'Bill to').")
    invoice_number: Annotated[ShortText, Ground()] = Field(
        description="The invoice number exactly as printed, with its prefix and dashes."
    )
    issue_date: IsoDate = Field(description="Invoice (issue) date as YYYY-MM-DD.")
    due_date: IsoDate | None = Field(None, description="Payment due date as YYYY-MM-DD.")
    purchase_order: ShortText | None = Field(None, description="PO number, if printed.")
    currency: Currency
    subtotal: Annotated[Amount, Ground()] | None = Field(
        None, description="Sum of the lines before tax and discounts."
    )
    discount: Amount | None = Field(None, description="Total discount as a positive number.")
    tax: Annotated[Amount, Ground()] | None = Field(None, description="Total tax amount.")
    tax_rate: Amount | None = Field(None, description="Main tax rate in percent, e.g. 19.")
    total: Annotated[Amount, Ground()] = Field(description="Grand total including tax.")
    amount_due: Amount | None = Field(None, description="Amount still to pay, if printed.")
    payment_terms: Text | None = Field(None, description="Payment terms, e.g. 'Net 30'.")
    line_items: list[InvoiceLine] = Field(default_factory=list, max_length=100)

    @check
    def lines_sum_to_subtotal(self) -> str | None:
        if self.line_items and self.subtotal is not None:
            lines = sum(li.amount for li in self.line_items)
            if not close(lines, self.subtotal, abs_tol=0.01 * len(self.line_items) + 0.01):
                return f"line amounts sum to {lines:.2f}, not the subtotal {self.subtotal}"
        return None

    @check
    def total_adds_up(self) -> str | None:
        if self.subtotal is not None:
            expected = self.subtotal - (self.discount or 0) + (self.tax or 0)
            if not close(expected, self.total, abs_tol=0.02):
                return (
                    f"subtotal {self.subtotal} - discount {self.discount or 0} + tax "
                    f"{self.tax or 0} = {expected:.2f}, not the total {self.total}"
                )
        return None

    @check
    def tax_matches_rate(self) -> str | None:
        if None not in (self.subtotal, self.tax, self.tax_rate) and self.line_items:
            base = self.subtotal - (self.discount or 0)  # type: ignore[operator]
            expected = base * self.tax_rate / 100  # type: ignore[operator]
            if not close(expected, self.tax, abs_tol=0.05 + 0.01 * len(self.line_items)):  # type: ignore[arg-type]
                return f"tax {self.tax} is not {self.tax_rate}% of {base:.2f} ({expected:.2f})"
        return None

    @check
    def real_dates_in_order(self) -> list[str]:
        errors = [e for e in (bad_date("issue_date", self.issue_date),
                              bad_date("due_date", self.due_date)) if e]  # fmt: skip
        if not errors and self.due_date and self.due_date < self.issue_date:
            errors.append(f"due_date {self.due_date} is before issue_date {self.issue_date}")
        return errors

    @check
    def known_currency(self) -> str | None:
        if self.currency not in iso_currencies():
            return f"currency {self.currency!r} is not an ISO 4217 code (e.g. EUR, USD, GBP)"
        return None
