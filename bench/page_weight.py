"""What a speech page weighs, part by part (issue #15: page weight).

    .venv/bin/python bench/page_weight.py OUTPUT [OUTPUT ...]

For each built site (an output folder), the mean bytes of its speech pages (speeches/**/*.html) split
into the parts of the page, in the order they appear: each part runs from its marker to the next
marker found; the body is split again into its text, its ¶ links and the rest of its markup. Also
the bytes spent on percent-escapes (%E5…) and on indentation, and the data/ folder per speech. Run
it on two builds of the same corpus (before and after a change) to see where bytes went.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: (marker, part): a part starts where its marker is first found on the page.
MARKERS = (
    ("<head>", "head (meta, JSON-LD)"),
    ("<body", "site header, breadcrumb"),
    ("<article", "speech header (facts)"),
    ('<nav class="toc"', "table of contents"),
    ('<div class="speech-body">', "body"),
    ('class="cite"', "citation"),
    ('<p class="print-source">', "print source, scripts"),
    ('<nav class="prev-next"', "previous / next"),
    ("compare-offer", "compare"),
    ("reused-heading", "passages reused"),
    ('aria-labelledby="related-heading"', "related speeches"),
    ("</main>", "footer"),
)
PERMALINK = re.compile(r'<a class="permalink"[^>]*>¶</a>')
TAG = re.compile(r"<[^>]+>")


def parts(html: str) -> dict[str, int]:
    found = sorted((html.find(m), name) for m, name in MARKERS if html.find(m) >= 0)
    cut = [(0, "doctype")] + [(i if i == 0 else html.rfind("<", 0, i + 1), n) for i, n in found]
    out: dict[str, int] = {}
    for (start, name), (end, _) in zip(cut, cut[1:] + [(len(html), "")]):
        piece = html[start:end]
        if name == "body":
            links = "".join(PERMALINK.findall(piece))
            rest = PERMALINK.sub("", piece)
            text = TAG.sub("", rest)
            out["body: text"] = len(text.encode())
            out["body: ¶ links"] = len(links.encode())
            out["body: other markup"] = len(rest.encode()) - len(text.encode())
        else:
            out[name] = out.get(name, 0) + len(piece.encode())
    out["(of all: percent-escapes)"] = 3 * len(re.findall(r"%[0-9A-Fa-f]{2}", html))
    out["(of all: indentation)"] = sum(len(m) - 1 for m in re.findall(r"\n[ \t]+", html))
    return out


def report(output: Path) -> None:
    pages = sorted(output.glob("speeches/**/*.html"))
    if not pages:
        sys.exit(f"{output}: no speech pages (speeches/**/*.html)")
    total: dict[str, int] = {}
    size = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        size += len(html.encode())
        for name, n in parts(html).items():
            total[name] = total.get(name, 0) + n
    data = sum(p.stat().st_size for p in (output / "data").rglob("*") if p.is_file())
    print(
        f"{output}: {len(pages)} speech pages, mean {size / len(pages):,.0f} bytes; data/ {data / len(pages):,.0f} bytes a speech"
    )
    for name, n in total.items():
        print(f"  {name:<28} {n / len(pages):>9,.0f}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        report(Path(arg))
