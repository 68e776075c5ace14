"""CPU of the templates' fixed cost in one build process (issue #15): every template's fingerprint
(its source and what it extends, includes or imports) and every template compiled, as a build
does, in a fresh process each run.

    PYTHONPATH=<code> .venv/bin/python bench/bench_templates.py [--runs 5] [--keep DIR]

--keep DIR keeps them between the runs as the build does (``TemplateSet.keep_compiled``, code
from 64e1870 on): the first run compiles and fills DIR, the next ones read it. Without --keep,
every run parses and compiles (what every build did before). The default theme's templates.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

_ONE = """
import json, sys, time
from pathlib import Path
from site_builder.config import SiteConfig
from site_builder.templates import TemplateSet
templates = TemplateSet(SiteConfig().theme_dirs())
if sys.argv[1]:
    templates.keep_compiled(Path(sys.argv[1]), "bench_templates")
names = templates.env.list_templates()
start = time.process_time()
for name in names:
    templates.fingerprint(name)
middle = time.process_time()
for name in names:
    templates.env.get_template(name)
end = time.process_time()
print(json.dumps({"templates": len(names), "fingerprints": middle - start, "compile": end - middle}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the compiled templates here between runs")
    args = parser.parse_args()
    for run in range(1, args.runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", _ONE, str(args.keep or "")], check=True, capture_output=True, text=True
        ).stdout
        got = json.loads(out)
        print(
            f"run {run}: {got['templates']} templates, fingerprints {got['fingerprints'] * 1000:.0f} ms, "
            f"compiled or read {got['compile'] * 1000:.0f} ms CPU"
        )


if __name__ == "__main__":
    main()
