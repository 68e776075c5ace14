"""The Whoosh index stage alone on a built site's cache: memory of every process, CPU, answers (#15).

    PYTHONPATH=<code> .venv/bin/python bench/bench_whoosh_memory.py --content C --output O --index DIR [--update]
    PYTHONPATH=<code> .venv/bin/python bench/bench_whoosh_memory.py --synthetic 100000 --index DIR --update

Loads what a build of C into O left the way a rebuild does (``loader.load`` from the build cache,
opened read-only; ``build_archive``; ``build_index.index_docs``: each speech's text read from the
cache when the index asks for it), freezes it from the collector as the build does, then writes a
Whoosh index of every speech into DIR (deleted first and at the end): ``SearchIndex.update``, cold.
A sampler process reads ``/proc`` every ``--interval`` seconds for this process and every process
below it: peak resident memory (RSS: pages shared with the parent after a fork included), PSS
(shared pages divided among the processes that map them) and USS (pages of that process alone: what
it allocated or copied itself). This process's own peak is exact (``VmHWM``, reset before the
stage). CPU is user + system of this process and of its worker processes (they are its children).

``--synthetic N`` indexes N small generated speeches (a build's metadata, a two-line text) instead
of a built site: the summary and the update at 100,000 without building 100,000 pages.

``--update`` then changes one speech (a sentence appended to its text) and updates the index again:
the incremental path (the previous summary read, the new segment, the derived summary).

Answers: a digest of the JSON answers of a fixed list of queries (hits, scores, excerpts, facets,
trend, KWIC), so that two checkouts can be compared on one archive (``PYTHONPATH=/other/checkout``):
same digest, other figures. Linux only.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERIES = (
    "党建",
    "发展",
    "安全生产",
    "人民 群众",
    '"全面 从严"',
    "改革 -经济",
    "的",
    "我们要",
    "工作 OR 会议",
    "全心全意为人民服务",
)


def _status(name: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(name):
                return int(line.split()[1]) // 1024
    return 0


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _sample_tree(root: int, out: str, interval: float) -> None:
    """The sampler process: peak RSS/PSS/USS of every process below ``root`` until SIGTERM."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_tree_memory import _tree

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    peaks: dict[int, dict] = {}
    me = os.getpid()
    while not stop:
        for pid in _tree(root):
            if pid in (root, me):
                continue
            try:
                with open(f"/proc/{pid}/status") as fh:
                    rss = next(int(x.split()[1]) for x in fh if x.startswith("VmRSS:")) // 1024
                fields = {}
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    for line in fh:
                        parts = line.split()
                        if len(parts) >= 2 and parts[1].isdigit():
                            fields[parts[0]] = int(parts[1]) // 1024
            except (OSError, StopIteration):
                continue
            uss = fields.get("Private_Clean:", 0) + fields.get("Private_Dirty:", 0)
            rec = peaks.setdefault(pid, {"rss": 0, "pss": 0, "uss": 0})
            rec["rss"], rec["pss"], rec["uss"] = (
                max(rec["rss"], rss),
                max(rec["pss"], fields.get("Pss:", 0)),
                max(rec["uss"], uss),
            )
        time.sleep(interval)
    Path(out).write_text(json.dumps(peaks))


class _Sampler:
    def __init__(self, interval: float):
        self.out = tempfile.mktemp(suffix=".json")
        args = [sys.executable, __file__, "--sample", str(os.getpid()), "--json", self.out, "--interval", str(interval)]
        self.proc = subprocess.Popen(args)

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()
        try:
            return json.loads(Path(self.out).read_text())
        finally:
            os.unlink(self.out)


def _digest(index) -> str:
    h = hashlib.sha1()
    for q in QUERIES:
        for kwic in (False, True):
            answer = index.search(q, limit=50, kwic=kwic)
            h.update(json.dumps(answer, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def _stage(name: str, index_dir: Path, docs: list, workers: int, interval: float) -> None:
    from site_builder.search.whoosh_index import SearchIndex

    gc.collect()
    start_rss = _status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # VmHWM := VmRSS
    sampler = _Sampler(interval)
    cpu, wall = _cpu(), time.perf_counter()
    index = SearchIndex(index_dir, workers=workers)
    stats = index.update(docs)
    index.close()
    cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    peak = _status("VmHWM:")
    children = sampler.stop()
    print(f"{name}: {stats}", flush=True)
    print(
        f"  {cpu:.2f} s CPU ({wall:.2f} s wall); main process: resident {start_rss} MB at the start, peak {peak} MB (+{peak - start_rss})"
    )
    for pid, rec in sorted(children.items(), key=lambda kv: -kv[1]["rss"])[:4]:
        print(f"  worker {pid}: peak RSS {rec['rss']} MB, PSS {rec['pss']} MB, USS {rec['uss']} MB")
    with SearchIndex(index_dir) as index:
        print(f"  answers {_digest(index)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--content", type=Path)
    ap.add_argument("--output", type=Path)
    ap.add_argument("--index", type=Path, help="a folder for the index (deleted first and at the end)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--update", action="store_true", help="then one speech changed, updated again")
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--synthetic", type=int, help="N small generated speeches instead of a built site")
    ap.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sample:
        _sample_tree(args.sample, args.json, args.interval)
        return
    if not (args.index and (args.synthetic or (args.content and args.output))):
        ap.error("--index and either --content and --output or --synthetic are needed")
    from site_builder import collector

    if args.synthetic:
        with collector.during_build():
            _run(_synthetic(args.synthetic), args)
        return

    from site_builder import build, loader
    from site_builder.build_index import Bodies, index_docs
    from site_builder.cache import BuildCache
    from site_builder.config import load_config
    from site_builder.model import build_archive
    from site_builder.urls import UrlMap

    config, _ = load_config(Path.cwd(), {"content_dir": str(args.content), "output_dir": str(args.output)})
    cache = BuildCache(config.state_dir, readonly=True)
    with collector.during_build():
        speeches, _problems, _stats = loader.load(
            config.content, cache, build._settings(config), scanned=loader.scan(config.content)
        )
        archive = build_archive(speeches, UrlMap(config.urls))
        docs = index_docs(archive, Bodies(cache))
        _run(docs, args)


def _synthetic(n: int) -> list:
    """``n`` small speeches with a build's metadata (for the summary and the update at 100,000)."""
    from site_builder.model import IndexDoc

    def doc(i: int) -> IndexDoc:
        year, name = 2000 + i % 25, f"在全市系统工作会议上的讲话-{i:06d}"
        body = f"党建工作{i}\n加强队伍建设，推进全面从严治党向纵深发展。"
        fingerprint = hashlib.sha1(str(i).encode()).hexdigest()
        return IndexDoc(
            f"{year}/{name}.md", f"speeches/{year}/{name}.html", name, f"{year}-03-05", year, "座谈会",
            ("基层党建", "作风建设"), body, fingerprint, "张三", "市委办公室", (0,),
        )  # fmt: skip

    return [doc(i) for i in range(n)]


def _run(docs: list, args) -> None:
    from site_builder.model import IndexDoc

    gc.freeze()  # as the build does with its model
    print(f"{len(docs)} speeches loaded; resident {_status('VmRSS:')} MB", flush=True)
    shutil.rmtree(args.index, ignore_errors=True)
    try:
        _stage("cold", args.index, docs, args.workers, args.interval)
        if args.update:
            k = len(docs) // 2
            d = docs[k]
            fields = {f: getattr(d, f) for f in IndexDoc.__dataclass_fields__}
            fields["body"] += "\n我们要进一步加强安全生产工作，落实安全责任。"
            fields["fingerprint"] += "+"
            docs[k] = IndexDoc(**fields)
            _stage("one changed", args.index, docs, args.workers, args.interval)
    finally:
        shutil.rmtree(args.index, ignore_errors=True)


if __name__ == "__main__":
    main()
