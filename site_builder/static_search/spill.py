"""An assembly's entries by part, in one pass over the docs' arrays files (#15: a worker's memory is
bounded by a part, not by a shard of the whole archive).

The output's shards (``keys.shard_count``: at most ``SECTIONS``) are part of the format: a key's
bucket is chosen within its shard (``wire.Layout``), so their number stays. The work is cut finer:
each shard's run of hash sections (``keys.shard_run``) is cut into ``subs`` parts by another hash of
the key (``_subs_of``), as many as keep a part near ``PART_BYTES`` of entries; so the number of parts
grows with the archive and a part does not. The docs' arrays files are read once, a batch of about
``BATCH_BYTES`` at a time (``spill_batch``, in worker processes when there are many): a batch's
entries are put in part order, each part's in doc order, and written to one spill file; each arrays
file is removed once its batch is spilled (so a batch whose worker is killed can be done again).
A shard is then assembled a part at a time, each part read from the spill files alone
(``read_part``: one read a batch). A key's entries are all in one part, and the shard's
buckets are made from its parts' postings sorted by key, so the output does not depend on the cut.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .analyser import KREC, PREC
from .files import process_pool
from .keys import SECTIONS, copy_segments, shard_run
from .wire import pow2_at_least

PART_BYTES = 1 << 24  # a part holds about this many bytes of entries (its working set: several times that)
BATCH_BYTES = 1 << 25  # the docs' arrays files are spilled this many bytes at a time
KS, PS = KREC.itemsize + 4, PREC.itemsize + 4  # a k and a p entry in a spill file: record, doc number (int32)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: a key's part in its shard, apart from its CRC
_MAX_PARTS = 1 << 16  # part numbers are sorted as uint16


def _sizes(offsets: bytes) -> tuple[int, int, int]:
    """A doc's numbers of k records, p records and bytes of encoded positions (``analyser``)."""
    o = np.frombuffer(offsets, "<i8", count=4)
    return int(o[1]), int(o[2]), int(o[3])


def plan(docs: list[tuple[str, bytes]], nshards: int) -> tuple[int, list[range]]:
    """(parts per shard, the batches: ranges of ``docs`` (arrays file, offsets) of about
    ``BATCH_BYTES`` of entries each)."""
    sizes = [nk * KS + npr * PS + ne for nk, npr, ne in (_sizes(o) for _, o in docs)]
    subs = min(pow2_at_least(sum(sizes) / nshards / PART_BYTES), _MAX_PARTS // nshards)
    batches, start, acc = [], 0, 0
    for i, size in enumerate(sizes):
        acc += size
        if acc >= BATCH_BYTES:
            batches.append(range(start, i + 1))
            start, acc = i + 1, 0
    if start < len(docs) or not batches:
        batches.append(range(start, len(docs)))
    return subs, batches


def _subs_of(keys: np.ndarray, subs: int) -> np.ndarray:
    """Each key's part within its shard: the top bits of a multiplicative hash of the integer key."""
    if subs == 1:
        return np.zeros(len(keys), np.int64)
    bits = subs.bit_length() - 1
    return ((keys.astype(np.uint64) * _MIX) >> np.uint64(64 - bits)).astype(np.int64)


def _read_into(fh, buf: np.ndarray) -> None:
    view = buf.view(np.uint8).data
    while len(view):
        got = fh.readinto(view)
        if not got:
            raise EOFError(f"{fh.name}: a doc's arrays file is truncated")
        view = view[got:]


def _part_order(ranks: np.ndarray, keys: np.ndarray, nshards: int, subs: int) -> tuple[np.ndarray, np.ndarray]:
    """The order that puts entries (their section ranks and keys) in part order, keeping their order
    within a part (a stable sort of small numbers), and each part's number of entries."""
    part = (ranks // (SECTIONS // nshards)) * subs + _subs_of(keys, subs)
    return np.argsort(part.astype(np.uint16), kind="stable"), np.bincount(part, minlength=nshards * subs)


def spill_batch(args) -> np.ndarray:
    """Pool worker: the entries of ``docs`` ((arrays file, offsets), numbered from ``first``) in part
    order, written to ``path`` part after part (k records, their doc numbers, p records, theirs, the
    encoded positions); each arrays file is removed once that is written. Returns each part's sizes (parts × 3:
    k entries, p entries, bytes of positions)."""
    docs, first, nshards, subs, path = args
    sizes = np.array([_sizes(o) for _, o in docs], np.int64).reshape(-1, 3)
    kr, pr = np.empty(int(sizes[:, 0].sum()), KREC), np.empty(int(sizes[:, 1].sum()), PREC)
    enc = np.empty(int(sizes[:, 2].sum()), np.uint8)
    at = np.zeros(3, np.int64)
    secs = np.empty((len(docs), 2, SECTIONS), np.int64)  # each doc's entries by section, k and p
    for i, (arr, offsets) in enumerate(docs):
        o = np.frombuffer(offsets, "<i8")
        secs[i, 0], secs[i, 1] = np.diff(o[4 : 5 + SECTIONS]), np.diff(o[5 + SECTIONS : 6 + 2 * SECTIONS])
        a, b, c = sizes[i].tolist()
        with open(arr, "rb", buffering=0) as fh:
            _read_into(fh, kr[at[0] : at[0] + a])
            _read_into(fh, pr[at[1] : at[1] + b])
            _read_into(fh, enc[at[2] : at[2] + c])
        at += sizes[i]
    nums = np.arange(first, first + len(docs), dtype=np.int32)
    rank = np.tile(np.arange(SECTIONS, dtype=np.int64), len(docs))
    kperm, kn = _part_order(np.repeat(rank, secs[:, 0].reshape(-1)), kr["key"], nshards, subs)
    kr, kdoc = kr[kperm], np.repeat(nums, sizes[:, 0])[kperm]
    del kperm
    pperm, pn = _part_order(np.repeat(rank, secs[:, 1].reshape(-1)), pr["key"], nshards, subs)
    lens = pr["len"].astype(np.int64)
    plen = lens[pperm]
    moved = np.empty(len(enc), np.uint8)
    copy_segments(moved, np.cumsum(plen) - plen, enc, (np.cumsum(lens) - lens)[pperm], plen)
    enc, lens = moved, np.concatenate(([0], np.cumsum(plen)))
    del moved, plen
    pr, pdoc = pr[pperm], np.repeat(nums, sizes[:, 1])[pperm]
    del pperm
    kb, pb = np.concatenate(([0], np.cumsum(kn))), np.concatenate(([0], np.cumsum(pn)))
    eb = lens[pb]
    with open(path, "wb", buffering=1 << 20) as fh:
        for j in range(len(kn)):
            for arr, bounds in ((kr, kb), (kdoc, kb), (pr, pb), (pdoc, pb), (enc, eb)):
                lo, hi = int(bounds[j]), int(bounds[j + 1])
                if hi > lo:
                    fh.write(arr[lo:hi].view(np.uint8).data)
    for arr, _ in docs:  # (only now: a batch whose worker is killed is done again from them)
        os.unlink(arr)
    return np.stack((kn, pn, eb[1:] - eb[:-1]), axis=1).astype(np.int64)


def read_part(paths: list[str], offsets: np.ndarray, sizes: np.ndarray) -> tuple:
    """A part's entries from the spill files (``paths``, the part's offset in each, its sizes in
    each: k entries, p entries, bytes of positions), file after file (doc order): k records, their
    doc numbers, p records, theirs, the encoded positions."""
    nk, npr, ne = (int(x) for x in sizes.sum(0)) if len(sizes) else (0, 0, 0)
    kr, kdoc = np.empty(nk, KREC), np.empty(nk, np.int32)
    pr, pdoc, enc = np.empty(npr, PREC), np.empty(npr, np.int32), np.empty(ne, np.uint8)
    at = [0, 0, 0]
    for path, off, (a, b, c) in zip(paths, offsets.tolist(), sizes.tolist()):
        if not (a or b or c):
            continue
        bufs = [
            x.view(np.uint8)
            for x in (kr[at[0] : at[0] + a], kdoc[at[0] : at[0] + a], pr[at[1] : at[1] + b], pdoc[at[1] : at[1] + b])
        ]
        bufs.append(enc[at[2] : at[2] + c])
        want = a * KS + b * PS + c
        fd = os.open(path, os.O_RDONLY)
        try:
            got = os.preadv(fd, [x.data for x in bufs if len(x)], off)
        finally:
            os.close(fd)
        if got != want:
            raise EOFError(f"{path}: a spill file is truncated")
        at = [at[0] + a, at[1] + b, at[2] + c]
    return kr, kdoc, pr, pdoc, enc


def spill(docs: list[tuple[str, bytes]], first: int, nshards: int, folder: Path, pool) -> tuple:
    """Spill the entries of ``docs`` ((arrays file, offsets) of docs ``first`` …) into ``folder``,
    batch after batch (in ``pool`` when not None): (parts per shard, the spill files, each part's
    offset in each file (files × parts), its sizes there (files × parts × 3))."""
    subs, batches = plan(docs, nshards)
    paths = [str(folder / f"{i}.bin") for i in range(len(batches))]
    jobs = [([docs[j] for j in b], first + b.start, nshards, subs, p) for b, p in zip(batches, paths)]
    sizes = np.stack(list(map(spill_batch, jobs) if pool is None else pool.map(spill_batch, jobs)))
    nbytes = sizes[:, :, 0] * KS + sizes[:, :, 1] * PS + sizes[:, :, 2]
    return subs, paths, np.cumsum(nbytes, axis=1) - nbytes, sizes


def shard_parts(shard: int, nshards: int, subs: int, offsets: np.ndarray, sizes: np.ndarray) -> tuple:
    """The offsets and sizes (``spill``) of a shard's parts only: (files × subs, files × subs × 3)."""
    r = shard_run(shard, nshards)[0] // (SECTIONS // nshards)
    return offsets[:, r * subs : (r + 1) * subs], sizes[:, r * subs : (r + 1) * subs]


def assemble(docs, first: int, nshards: int, folder: Path, pool: tuple[bool, bool], job, args: list, stats) -> Iterator:
    """Spill the entries of ``docs`` into ``folder`` (made afresh, removed after), then run ``job``
    for each shard with (shard, nshards, spill files, its parts' offsets and sizes, *``args``[shard]);
    yields the results in shard order. ``pool``: (in worker processes, started afresh:
    ``files.process_pool``). Counts the parts and spill files in ``stats``."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    workers = process_pool(nshards, fresh=pool[1]) if pool[0] else None
    try:
        subs, paths, offsets, sizes = spill(docs, first, nshards, folder, workers)
        stats["parts"] += nshards * subs
        stats["spill_files"] += len(paths)
        jobs = [(s, nshards, paths, *shard_parts(s, nshards, subs, offsets, sizes), *args[s]) for s in range(nshards)]
        yield from map(job, jobs) if workers is None else workers.map(job, jobs)
    finally:
        if workers is not None:
            workers.shutdown()
        shutil.rmtree(folder, ignore_errors=True)
