"""Print benchmark figures as a markdown table, with the command that made them."""

from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None  # at most
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "report"
        return "ok" if self.value <= self.target else "MISSED"


def median(values: list[float]) -> float:
    return statistics.median(values)


def print_table(title: str, command: str, figures: list[Figure]) -> None:
    print(f"### {title}\n")
    print(f"`{command}` on {platform.machine()}, Python {platform.python_version()}")
    print()
    print("| figure | measured | target | verdict | note |")
    print("|---|---|---|---|---|")
    for f in figures:
        target = "-" if f.target is None else f"≤ {f.target:g} {f.unit}"
        print(f"| {f.name} | {f.value:.3g} {f.unit} | {target} | {f.verdict} | {f.note} |")
    print()
