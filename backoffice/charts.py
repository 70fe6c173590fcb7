"""Server-side SVG bar charts for the dashboard: no script, nothing loaded from elsewhere.

Every text (labels, tooltips) goes through format_html, so a reward or campaign name cannot
inject markup. Heights are computed from the Decimal figures with integer pixels (no float).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 170, 60, 18, 8
COLOURS = ["#417690", "#e0a030", "#b04040", "#7a5aa8", "#4a9a5a", "#888888", "#2a2a2a"]


def _px(value, scale: Decimal) -> int:
    return int((Decimal(value) * scale).to_integral_value(rounding=ROUND_HALF_UP))


def bar_chart(*, days: list[date], series: list[tuple[str, dict]], stacked: bool, label: str) -> SafeString:
    """Bars per day of each (name, {day: value}) series, side by side or stacked, with a legend,
    the axis maximum and a tooltip per bar holding the exact figure."""
    plot_h = HEIGHT - BOTTOM - TOP
    slot = Decimal(WIDTH - LEFT) / len(days)
    if stacked:
        top = max((sum((s.get(d, 0) for _n, s in series), Decimal(0)) for d in days), default=0)
    else:
        top = max((v for _n, s in series for v in s.values()), default=0)
    top = Decimal(top) if top and top > 0 else Decimal(1)
    scale = Decimal(plot_h) / top
    bars = []
    for i, day in enumerate(days):
        x0 = LEFT + slot * i
        base = 0
        width = (slot - 2) if stacked else (slot - 2) / len(series)
        for k, (name, values) in enumerate(series):
            value = values.get(day, 0)
            if not value or value < 0:
                continue
            h = max(_px(value, scale), 1)
            x = x0 + 1 + (0 if stacked else width * k)
            y = HEIGHT - BOTTOM - base - h
            bars.append((int(x), y, max(int(width), 1), h, COLOURS[k % len(COLOURS)], f"{day}: {name} {value}"))
            if stacked:
                base += h
    ticks = [(int(LEFT + slot * i + slot / 2), d.strftime("%d")) for i, d in enumerate(days) if i % 5 == 4 or i == 0]
    legend = format_html_join(
        "",
        '<rect x="{}" y="0" width="10" height="10" fill="{}"/><text x="{}" y="9">{}</text>',
        ((LEFT + 110 * k, COLOURS[k % len(COLOURS)], LEFT + 110 * k + 14, name) for k, (name, _v) in enumerate(series)),
    )
    return format_html(
        '<svg class="bo-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" '
        'xmlns="http://www.w3.org/2000/svg" font-size="10" font-family="sans-serif">'
        '<title>{}</title><g transform="translate(0,{})">{}</g>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>'
        '<text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}" text-anchor="end">0</text>'
        "{}{}</svg>",
        label,
        WIDTH,
        HEIGHT + 14,
        label,
        HEIGHT,
        legend,
        LEFT,
        HEIGHT - BOTTOM,
        WIDTH,
        HEIGHT - BOTTOM,
        LEFT - 4,
        TOP + 8,
        top,
        LEFT - 4,
        HEIGHT - BOTTOM,
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            bars,
        ),
        format_html_join(
            "", '<text x="{}" y="{}" text-anchor="middle">{}</text>', ((x, HEIGHT - 4, t) for x, t in ticks)
        )
        or mark_safe(""),
    )
