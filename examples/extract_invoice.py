"""Extract a typed invoice with the validation-and-retry loop.

    python examples/extract_invoice.py [ENGINE]

ENGINE defaults to "auto" (in-process vLLM on a GPU with Pixtral's weights, or the server in
DOCINTEL_SERVER_URL). With "tiny", it runs the real code path on the tiny random-weight Pixtral
that docintel builds offline: the values are random, but they always validate.
"""

import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

import docintel
from docintel import check


class LineItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(max_length=60, description="What was sold")
    quantity: float = Field(allow_inf_nan=False)
    amount: float = Field(allow_inf_nan=False, description="Line total")


class Invoice(BaseModel):
    """A commercial invoice."""

    model_config = ConfigDict(extra="forbid")
    invoice_number: str = Field(max_length=30, description="The invoice number, as printed")
    issue_date: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="YYYY-MM-DD")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")
    items: list[LineItem] = Field(max_length=8)
    total: float = Field(allow_inf_nan=False)

    @check
    def items_sum_to_total(self) -> str | None:
        lines = sum(i.amount for i in self.items)
        if self.items and abs(lines - self.total) > 0.05 * max(1.0, abs(self.total)):
            return f"line amounts sum to {lines:.2f}, not the total {self.total:.2f}"
        return None


engine = sys.argv[1] if len(sys.argv) > 1 else "auto"
settings = docintel.get_settings()
if engine == "tiny":
    from docintel.testing import tiny_pixtral

    settings = docintel.get_settings(model=str(tiny_pixtral.build(tiny_pixtral.default_path())))
    engine = "transformers"

invoice = Path(__file__).parents[1] / "fixtures/invoice-1.pdf"
result = docintel.extract(
    invoice, Invoice, engine=engine, settings=settings, raise_on_failure=False
)
print("ok" if result.ok else "failed", f"after {len(result.attempts)} attempt(s)")
print(result.value.model_dump_json(indent=2) if result.value else None)
for attempt in result.attempts:
    print(f"attempt {attempt.number}: {attempt.finish_reason}, {attempt.errors or 'accepted'}")
