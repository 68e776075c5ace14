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


def _trend_sentence(row: dict) -> str:
    return (
        f"{row['year']}年：{row['speeches']} 篇，{row['occurrences']} 处，每万字 {float(row['per_10k_chars']):.2f} 处"
    )


def trend_chart(rows: list, title: str) -> Markup:
    """The search page's trend chart, drawn at build time: bars = speeches a year (left axis), line
    = occurrences a year (right axis); every year of the range has a column with a ``<title>``
    (years missing from ``rows`` are drawn as zeros when the range is short enough to draw)."""
    if not rows:
        return Markup("")
    by_year = {r["year"]: r for r in rows}
    first, last = rows[0]["year"], rows[-1]["year"]
    if 0 <= last - first <= 100:
        zero = {"speeches": 0, "occurrences": 0, "per_10k_chars": 0.0}
        rows = [by_year.get(y) or {"year": y, **zero} for y in range(first, last + 1)]
    max_s = max(r["speeches"] for r in rows) or 1
    max_o = max(r["occurrences"] for r in rows) or 1
    w, h, pad_l, pad_r, pad_t, pad_b = 320, 150, 30, 34, 12, 24
    cw = (w - pad_l - pad_r) / len(rows)
    ch = h - pad_t - pad_b
    parts = [f'<line x1="{pad_l}" x2="{w - pad_r}" y1="{h - pad_b}" y2="{h - pad_b}" class="trend-axis"/>']
    points = []
    for i, r in enumerate(rows):
        x = pad_l + i * cw
        bar = ""
        if r["speeches"]:
            bh = r["speeches"] / max_s * ch
            bar = (
                f'<rect x="{x + cw * 0.15:.1f}" y="{h - pad_b - bh:.1f}" width="{max(cw * 0.7, 1):.1f}" '
                f'height="{bh:.1f}" class="trend-bar"/>'
            )
        parts.append(
            f'<g class="trend-year" data-year="{r["year"]}"><title>{escape(_trend_sentence(r))}</title>'
            f'<rect x="{x:.1f}" y="{pad_t}" width="{cw:.1f}" height="{ch}" class="trend-hit"/>{bar}</g>'
        )
        points.append((x + cw / 2, h - pad_b - r["occurrences"] / max_o * ch))
    parts.append(f'<polyline points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in points)}" class="trend-line"/>')
    radius = min(3, cw / 3)
    parts += [
        f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{radius:.1f}" class="trend-dot"/>'
        for (px, py), r in zip(points, rows, strict=True)
        if r["occurrences"]
    ]
    labels = sorted({0, len(rows) - 1} | ({(len(rows) - 1) // 2} if len(rows) >= 5 else set()))
    parts += [
        f'<text x="{pad_l + (i + 0.5) * cw:.1f}" y="{h - 6}" class="trend-label" text-anchor="middle">'
        f"{rows[i]['year']}</text>"
        for i in labels
    ]
    parts.append(
        f'<text x="{pad_l - 4}" y="{pad_t + 10}" class="trend-label trend-label-bar" text-anchor="end">{max_s}</text>'
        f'<text x="{pad_l - 4}" y="{h - pad_b}" class="trend-label" text-anchor="end">0</text>'
        f'<text x="{w - pad_r + 4}" y="{pad_t + 10}" class="trend-label trend-label-line">{max_o}</text>'
    )
    return Markup(
        f'<svg class="trend-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {w} {h}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>' + "".join(parts) + "</svg>"
    )
