"""Charts of a release as plain geometry, drawn as SVG by `stats/_charts.html`.

Server-side, so the page needs no script, and styled by classes in site.css (the CSP allows no
inline style). Withheld values are drawn as a `c` instead of a bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rentalcoop.i18n import number

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 48, 16, 40


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    text: str  # the value as shown, or "c"
    is_withheld: bool


@dataclass
class Tick:
    y: float
    text: str


@dataclass
class Chart:
    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    right_ticks: list[Tick] = field(default_factory=list)
    line: str = ""  # polyline points of the second series
    dots: list[tuple[float, float, str]] = field(default_factory=list)
    baseline: float = HEIGHT - BOTTOM
    plot_left: float = LEFT
    plot_right: float = WIDTH - RIGHT


def _nice_max(value: float) -> int:
    """A round axis maximum at or above `value` whose quarters are whole numbers
    (4, 8, 20, 40, 80, 200, …)."""
    for top in (4, 8):
        if value <= top:
            return top
    step = 10
    while True:
        for m in (2, 4, 8):
            if step * m >= value:
                return step * m
        step *= 10


def bar_chart(
    title: str,
    description: str,
    points: list[tuple[str, float | None, bool]],
    *,
    line: list[float | None] | None = None,
) -> Chart:
    """Bars for (label, value or None, withheld) and, optionally, a 0–100 % line over them."""
    chart = Chart(title=title, description=description)
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = chart.plot_right - chart.plot_left
    top = _nice_max(max((v for _l, v, _w in points if v), default=0))
    for i in range(5):
        value = top * i / 4
        chart.ticks.append(Tick(chart.baseline - plot_h * i / 4, number(round(value))))
        if line is not None:
            chart.right_ticks.append(Tick(chart.baseline - plot_h * i / 4, f"{25 * i} %"))
    slot = plot_w / max(len(points), 1)
    for i, (label, value, withheld) in enumerate(points):
        height = 0 if value is None else plot_h * value / top
        chart.bars.append(
            Bar(
                x=chart.plot_left + slot * i + slot * 0.15,
                y=chart.baseline - height,
                width=slot * 0.7,
                height=height,
                label=label,
                text="c" if withheld else ("–" if value is None else number(round(value))),
                is_withheld=withheld,
            )
        )
    if line is not None:
        coords = []
        for i, value in enumerate(line):
            if value is None:
                continue
            x = chart.plot_left + slot * (i + 0.5)
            y = chart.baseline - plot_h * min(value, 100) / 100
            coords.append((x, y))
            chart.dots.append((x, y, f"{number(value)} %"))
        chart.line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    return chart
