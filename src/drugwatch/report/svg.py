"""Small inline SVG charts, so the HTML report needs no plotting library and no network.

Each function returns an ``<svg>`` element as a string, with a ``<title>``
and the numbers as ``<text>`` labels, so the chart is readable in any
browser and by a screen reader.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "grouped_bar_chart", "network_chart"]

PALETTE = ("#1f6feb", "#d1495b", "#2e933c", "#edae49", "#6f42c1", "#00798c")


def _fmt(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    width: int = 640,
    bar_height: int = 18,
    color: str = PALETTE[0],
    unit: str = "",
) -> str:
    """Horizontal bars, one per label."""
    left, right, top = 150, 70, 28
    height = top + len(labels) * (bar_height + 6) + 10
    vmax = max([v for v in values if v is not None] + [0]) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart"><title>{escape(title)}</title>',
        f'<text x="4" y="16" font-weight="bold" font-size="13">{escape(title)}</text>',
    ]
    span = width - left - right
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + i * (bar_height + 6)
        w = 0 if value is None else span * value / vmax
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_height - 5}" text-anchor="end" font-size="12">'
            f"{escape(label[:24])}</text>"
        )
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{color}"/>')
        shown = "n/a" if value is None else _fmt(value) + unit
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_height - 5}" font-size="12">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bar_chart(
    title: str,
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    width: int = 720,
    height: int = 240,
    unit: str = "",
) -> str:
    """Vertical bars, one group per category, one colour per series, with a legend."""
    left, bottom, top = 40, 34, 40
    n = max(len(categories), 1)
    k = max(len(series), 1)
    vmax = max([v for values in series.values() for v in values] + [0]) or 1
    plot_w, plot_h = width - left - 10, height - top - bottom
    group_w = plot_w / n
    bar_w = max(group_w * 0.8 / k, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart"><title>{escape(title)}</title>',
        f'<text x="4" y="16" font-weight="bold" font-size="13">{escape(title)}</text>',
    ]
    for j, name in enumerate(series):
        x = left + j * 150
        parts.append(
            f'<rect x="{x}" y="24" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="33" font-size="11">{escape(name)}</text>'
        )
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>')
    parts.append(f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{_fmt(vmax)}{unit}</text>')
    for i, category in enumerate(categories):
        gx = left + i * group_w + group_w * 0.1
        for j, values in enumerate(series.values()):
            value = values[i]
            h = plot_h * value / vmax
            parts.append(
                f'<rect x="{gx + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(category)} '
                f"{escape(list(series)[j])}: {_fmt(value)}{unit}</title></rect>"
            )
        parts.append(
            f'<text x="{gx + group_w * 0.4:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
            f'font-size="10">{escape(category)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def network_chart(
    title: str,
    networks: Sequence[tuple[str, Sequence[str], Sequence[tuple[str, str]]]],
    *,
    width: int = 720,
    cell: int = 220,
) -> str:
    """Each network (id, nodes, edges) drawn as a circle of nodes, side by side in a grid."""
    per_row = max(width // cell, 1)
    rows = max(math.ceil(len(networks) / per_row), 1)
    height = 24 + rows * cell
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart"><title>{escape(title)}</title>',
        f'<text x="4" y="16" font-weight="bold" font-size="13">{escape(title)}</text>',
    ]
    for index, (name, nodes, edges) in enumerate(networks):
        cx = (index % per_row) * cell + cell / 2
        cy = 24 + (index // per_row) * cell + cell / 2
        radius = cell / 2 - 40
        pos = {}
        for i, node in enumerate(nodes):
            angle = 2 * math.pi * i / max(len(nodes), 1) - math.pi / 2
            pos[node] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
        for a, b in edges:
            if a in pos and b in pos:
                (x1, y1), (x2, y2) = pos[a], pos[b]
                parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#999"/>')
        for node, (x, y) in pos.items():
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{PALETTE[1]}"><title>{escape(node)}'
                f'</title></circle><text x="{x:.1f}" y="{y + 18:.1f}" text-anchor="middle" '
                f'font-size="9">{escape(node.split(":", 1)[-1][:16])}</text>'
            )
        parts.append(
            f'<text x="{cx:.1f}" y="{cy - cell / 2 + 34:.1f}" text-anchor="middle" font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
