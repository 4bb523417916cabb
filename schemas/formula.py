"""Formula: LaTeX that KaTeX would render, display or inline."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from docintel.checks.semantic import check


class Formula(BaseModel):
    """One mathematical formula transcribed to LaTeX."""

    model_config = ConfigDict(extra="forbid")
    latex: str = Field(
        min_length=1,
        max_length=2000,
        description="The formula in LaTeX math mode, without surrounding $ or \\[ \\].",
    )
    display: bool = Field(True, description="True for a displayed formula, false for inline.")

    @check
    def valid_latex(self) -> list[str]:
        from docintel.checks.latex import check_latex

        if not self.latex.strip():
            return ["latex: the formula is empty"]
        return [f"latex: {e}" for e in check_latex(self.latex, display=self.display).errors]
