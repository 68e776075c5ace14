#!/usr/bin/env python3
"""How parsing one very large speech scales (#15, "a 50 MB speech"): time of ``loader.parse_bytes``
on a body of N MB, the file-size limit (``loader.MAX_FILE``) lifted for the measurement.

    .venv/bin/python bench/bench_big_speech.py --corpus bench/.work/corpus-1000 --mb 1,2,4,8 [--profile]

The body is the bodies of the corpus's speeches one after another, heading lines left out (a file
with a thousand headings is refused by the Markdown limits before parsing), under the front matter
of the first. Prints MB, seconds and CPU seconds per size; ``--profile`` adds the functions that
took the most time at the largest size (cProfile, which slows everything down).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from site_builder import loader
from site_builder.build import _settings
from site_builder.config import load_config


def speech_of(corpus: Path, mb: float) -> bytes:
    files = sorted(corpus.rglob("*.md"))
    head = files[0].read_text(encoding="utf-8").split("\n---\n", 1)[0]
    parts, size, i = [], 0, 0
    while size < mb * 1e6:
        body = files[i % len(files)].read_text(encoding="utf-8").split("\n---\n", 1)[1]
        body = "\n".join(line for line in body.split("\n") if not line.startswith("#"))
        parts.append(body)
        size += len(body.encode())
        i += 1
    return (head + "\n---\n" + "\n\n".join(parts)).encode()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="a folder of speeches (gen_corpus.py)")
    ap.add_argument("--mb", default="1,2,4,8", help="sizes in MB, comma-separated (default 1,2,4,8)")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    config, _ = load_config(Path.cwd(), {"content_dir": corpus})
    settings = _settings(config)
    loader.MAX_FILE = 1 << 40  # measured, not refused
    sizes = [float(x) for x in args.mb.split(",")]
    print("| MB | s | CPU s | problems |\n|---:|---:|---:|---|")
    for n, mb in enumerate(sizes):
        data = speech_of(corpus, mb)
        prof = cProfile.Profile() if args.profile and n == len(sizes) - 1 else None
        wall, cpu = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        parsed, _html, _text = loader.parse_bytes("big.md", data, settings)
        if prof:
            prof.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        problems = "; ".join(p.message for p in parsed.problems) or "—"
        print(f"| {len(data) / 1e6:.1f} | {wall:.2f} | {cpu:.2f} | {problems} |", flush=True)
        if prof:
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
