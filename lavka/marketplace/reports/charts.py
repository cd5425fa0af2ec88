"""Bar charts as inline SVG, drawn on the server: no chart library, nothing from a CDN,
no script. Each chart has a <title> and <desc> for screen readers and a <title> per bar
(the browser's tooltip); the page shows the same numbers in a table as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 220
MARGIN_LEFT = 64
MARGIN_RIGHT = 8
MARGIN_TOP = 12
MARGIN_BOTTOM = 40
GAP = 0.2  # share of a slot left empty between bars
MAX_LABELS = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | int
    shown: str  # the value as the page writes it (a formatted price, a count)


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above `value`, so the
    scale's top is a round number."""
    if value <= 0:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def bar_chart(
    *, chart_id: str, title: str, description: str, bars: Sequence[Bar], axis_label: str
) -> SafeString:
    """An SVG bar chart. Every text in it is escaped; numbers are ours. Plain string
    building, not format_html per bar: a year by day is 366 bars per chart."""
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = _nice_ceiling(max((float(bar.value) for bar in bars), default=0.0))
    slot = plot_width / max(len(bars), 1)
    every = max(1, -(-len(bars) // MAX_LABELS))
    ident = escape(chart_id)
    parts = [
        f'<svg class="chart" id="{ident}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" data-testid="chart" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    for fraction in (0, 0.5, 1):
        y = MARGIN_TOP + plot_height * (1 - fraction)
        parts.append(
            f'<line class="chart-grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/><text class="chart-scale" x="{MARGIN_LEFT - 6}" '
            f'y="{y + 4:.1f}" text-anchor="end">{escape(_scale_text(top * fraction))}</text>'
        )
    width = slot * (1 - GAP)
    for index, bar in enumerate(bars):
        height = plot_height * float(bar.value) / top
        x = MARGIN_LEFT + slot * index + slot * GAP / 2
        y = MARGIN_TOP + plot_height - height
        label = escape(bar.label)
        parts.append(
            f'<rect class="chart-bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{height:.1f}" data-value="{escape(str(bar.value))}">'
            f"<title>{label}: {escape(bar.shown)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text class="chart-label" x="{x + width / 2:.1f}" '
                f'y="{HEIGHT - MARGIN_BOTTOM + 16}" text-anchor="middle">{label}</text>'
            )
    parts.append(
        f'<text class="chart-axis" x="{MARGIN_LEFT}" y="{HEIGHT - 6}">{escape(axis_label)}</text>'
        "</svg>"
    )
    # every text above went through escape()
    return mark_safe("".join(parts))  # noqa: S308


def _scale_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.2f}".rstrip("0").rstrip(".")
