"""SVG bar charts made at build time (no JavaScript library needed)."""

from __future__ import annotations

from markupsafe import Markup, escape


def bar_chart(items: list, title: str, horizontal: bool = False, rel=None) -> Markup:
    """A self-contained SVG (role=group: its bars are links, which role=img would hide): one bar per (label, value, link or None);
    ``rel`` turns a site path into a link relative to the page."""
    items = [(str(label), int(value), rel(link) if (rel and link) else link) for label, value, link in items]
    if not items:
        return Markup("")
    top = max(v for _, v, _ in items) or 1
    parts: list[str] = []
    if horizontal:
        row, label_w, bar_w = 24, 170, 420
        height = row * len(items) + 10
        width = label_w + bar_w + 60
        for i, (label, value, link) in enumerate(items):
            y = 5 + i * row
            w = max(1, round(bar_w * value / top))
            bar = (
                f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="{row - 8}" class="bar"><title>'
                f"{escape(label)}：{value}</title></rect>"
                f'<text x="{label_w - 8}" y="{y + row / 2 + 5}" text-anchor="end" class="label">{escape(label)}</text>'
                f'<text x="{label_w + w + 6}" y="{y + row / 2 + 5}" class="value">{value}</text>'
            )
            parts.append(f'<a href="{escape(link)}">{bar}</a>' if link else bar)
    else:
        col, bar_h, base = 34, 180, 210
        width = max(col * len(items) + 20, 200)
        height = base + 50
        for i, (label, value, link) in enumerate(items):
            x = 10 + i * col
            h = max(1, round(bar_h * value / top))
            bar = (
                f'<rect x="{x + 4}" y="{base - h}" width="{col - 8}" height="{h}" class="bar"><title>'
                f"{escape(label)}：{value}</title></rect>"
                f'<text x="{x + col / 2}" y="{base - h - 4}" text-anchor="middle" class="value">{value}</text>'
                f'<text x="{x + col / 2}" y="{base + 16}" text-anchor="middle" class="label" '
                f'transform="rotate(45 {x + col / 2} {base + 16})">{escape(label)}</text>'
            )
            parts.append(f'<a href="{escape(link)}">{bar}</a>' if link else bar)
    return Markup(
        f'<svg class="chart" role="group" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(parts)
        + "</svg>"
    )
