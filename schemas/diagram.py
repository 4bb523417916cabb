"""Diagram: nodes, edges and labels of a flowchart or graph; series of a chart."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from docintel.checks.semantic import check

from ._common import Amount, ShortText, Text

CHARTS = ("bar_chart", "line_chart", "pie_chart", "scatter_plot")


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: ShortText = Field(description="A short unique id, e.g. n1.")
    label: Text = Field(description="The text inside the shape.")
    shape: Literal["box", "rounded", "diamond", "circle", "other"] = "box"


class Edge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: ShortText = Field(description="Id of the node the arrow starts at.")
    target: ShortText = Field(description="Id of the node the arrow points to.")
    label: ShortText | None = Field(None, description="Text on the arrow, e.g. yes/no.")


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: ShortText = Field(description="Category or x value as printed.")
    y: Amount


class Series(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ShortText
    points: list[Point] = Field(max_length=200)


class Diagram(BaseModel):
    """A diagram or chart: its structure for graphs, its data for charts."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal[
        "flowchart", "org_chart", "sequence", "network", "bar_chart", "line_chart", "pie_chart",
        "scatter_plot", "other",
    ]  # fmt: skip
    title: Text | None = None
    nodes: list[Node] = Field(default_factory=list, max_length=200)
    edges: list[Edge] = Field(default_factory=list, max_length=400)
    labels: list[Text] = Field(default_factory=list, max_length=100, description="Other text.")
    series: list[Series] = Field(default_factory=list, max_length=20)

    @check
    def edges_connect_nodes(self) -> list[str]:
        ids = [n.id for n in self.nodes]
        errors = [
            f"node id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})
        ]
        known = set(ids)
        for e in self.edges:
            for end in (e.source, e.target):
                if end not in known:
                    errors.append(f"edge {e.source}->{e.target} refers to unknown node {end!r}")
        return errors

    @check
    def charts_have_data(self) -> str | None:
        if self.kind in CHARTS and not self.series:
            return f"a {self.kind} needs its data in series"
        return None
