"""Plain-text tables for a terminal: at most 100 columns, numbers right-aligned, readable
durations and times, yes/no, no trailing spaces. A cell cut to fit ends in ASCII "...", so
a line is as many bytes as columns (``wc -c``, ``awk`` and the terminal agree)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 100
GAP = "  "
CUT = "..."


def duration(seconds: float | None) -> str:
    """``0.4s``, ``7.5s``, ``43.1s``, ``1m 43s``, ``2h 5m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60}s"
    return f"{whole // 3600}h {whole % 3600 // 60}m"


def yes_no(value: Any) -> str:
    return "-" if value is None else ("yes" if value else "no")


def when(iso: str | None) -> str:
    """``2026-11-22T09:00:00.123Z`` -> ``2026-11-22 09:00`` (UTC)."""
    return "-" if not iso else iso[:16].replace("T", " ")


def score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return " ".join(str(value).split())  # one line


@dataclass(frozen=True)
class Column:
    key: str
    header: str = ""
    show: Callable[[Any], str] = cell
    right: bool = False  # numbers
    flex: bool = False  # may be cut short ("...") so the table fits

    @property
    def title(self) -> str:
        return self.header or self.key


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], width: int = WIDTH) -> str:
    cells = [[col.show(row.get(col.key)) for col in columns] for row in rows]
    widths = [max([len(c.title), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    _fit(widths, columns, width)
    lines = [_line([c.title for c in columns], widths, columns)]
    lines.append(GAP.join("-" * w for w in widths))
    lines += [_line(row, widths, columns) for row in cells]
    return "\n".join(lines)


def _fit(widths: list[int], columns: Sequence[Column], width: int) -> None:
    """Shrink the widest flexible column until the table fits (or none can shrink)."""
    while sum(widths) + len(GAP) * (len(widths) - 1) > width:
        flexible = [i for i, c in enumerate(columns) if c.flex and widths[i] > max(len(c.title), 8)]
        if not flexible:
            return
        widest = max(flexible, key=lambda i: widths[i])
        over = sum(widths) + len(GAP) * (len(widths) - 1) - width
        widths[widest] = max(widths[widest] - over, len(columns[widest].title), 8)


def _line(values: Sequence[str], widths: list[int], columns: Sequence[Column]) -> str:
    out = []
    for value, w, col in zip(values, widths, columns, strict=True):
        text = value if len(value) <= w else value[: w - len(CUT)] + CUT
        out.append(text.rjust(w) if col.right else text.ljust(w))
    return GAP.join(out).rstrip()


def wrapped(label: str, text: str, width: int = WIDTH) -> str:
    """``label: text`` wrapped at ``width``, continuation lines indented."""
    return textwrap.fill(
        f"{label}: {text}", width=width, subsequent_indent="    ", break_on_hyphens=False
    )


def pairs(items: Sequence[tuple[str, str]], indent: str = "  ", width: int = WIDTH) -> list[str]:
    """Aligned ``name  value`` lines (a card's sections); long values wrap under themselves."""
    if not items:
        return []
    w = max(len(k) for k, _ in items)
    out = []
    for key, value in items:
        prefix = f"{indent}{key.ljust(w)}  "
        lines = textwrap.wrap(
            value,
            width=width,
            initial_indent=prefix,
            subsequent_indent=" " * len(prefix),
            break_on_hyphens=False,
            break_long_words=False,  # a path or a hash stays whole, to copy
        )
        out += lines or [prefix.rstrip()]
    return out
