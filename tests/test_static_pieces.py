"""k/ and kn/ buckets deflated a piece at a time (static_search/pieces.py, #15): the pieces are one raw
deflate stream, a patch deflates again only the pieces whose keys changed, and the bytes are those
of the same bucket written afresh."""

from __future__ import annotations

import base64
import random
import zlib

import pytest
from test_static_search import _tree, make_docs

from site_builder.static_search import IndexDoc, StaticIndex, pieces, wire


def _bucket(rng: random.Random, n: int) -> dict[str, str]:
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 400)]
    keys = {rng.choice(chars) + rng.choice(chars) for _ in range(n)}
    return {k: "".join(rng.choice(wire.ALPHA) for _ in range(rng.randrange(1, 300))) for k in keys}


def test_pieces_are_one_stream_cut_by_the_keys():
    rng = random.Random(7)
    bucket = _bucket(rng, 200)
    text = wire.bucket_string(bucket, "k")
    got = pieces.cut(text)
    assert "".join(got) == text and len(got) > 3
    for piece in got[1:]:  # each piece starts with a key whose CRC-32 has its low bits 0 …
        assert zlib.crc32(piece.split(" ", 1)[0].encode()) & 3 == 0
    for piece in got[:-1]:  # … once the one before holds MIN_PIECE chars (it ends with a whole entry)
        assert len(piece) >= pieces.MIN_PIECE and piece.endswith(" ") and len(piece.split(" ")) % 2 == 1
    data, (crc, lengths) = pieces.deflate(text)
    raw = base64.b64decode(data)
    assert zlib.decompressobj(-15).decompress(raw).decode() == text  # as the browser inflates it
    assert crc == zlib.crc32(raw) and len(lengths) == len(got) and sum(lengths) == len(raw)
    assert pieces.cut("") == [""] and pieces.inflate(pieces.deflate("")[0])[0] == ""
    co = zlib.compressobj(*pieces.DEFLATE)  # the tail's kn/ buckets: one stream, deflated whole
    assert wire.bucket_text(text, "kn") == wire.json_text(
        base64.b64encode(co.compress(text.encode()) + co.flush()).decode()
    )


def test_a_patched_bucket_deflates_only_its_changed_piece_and_equals_a_fresh_one(monkeypatch):
    rng = random.Random(11)
    bucket = _bucket(rng, 120)
    data, info = pieces.deflate(wire.bucket_string(bucket, "k"))
    text, reuse = pieces.inflate(data, info)
    assert text == wire.bucket_string(bucket, "k") and len(reuse) == len(info[1])
    key = sorted(bucket)[len(bucket) // 2]
    bucket[key] += "AB"  # one posting longer
    new_text = wire.bucket_string(bucket, "k")
    deflated = []
    real = pieces.deflate_one
    monkeypatch.setattr(pieces, "deflate_one", lambda p, last: deflated.append(p) or real(p, last))
    patched, new_info = pieces.deflate(new_text, reuse)
    assert len(deflated) == 1 and key in deflated[0]  # the changed piece alone
    deflated.clear()
    assert (patched, new_info) == pieces.deflate(new_text)  # the bytes of a fresh write
    assert len(deflated) == len(new_info[1])


def test_pieces_not_described_by_the_info_are_deflated_again():
    rng = random.Random(3)
    text = wire.bucket_string(_bucket(rng, 80), "k")
    data, (crc, lengths) = pieces.deflate(text)
    moved = [lengths[0] + 1, lengths[1] - 1, *lengths[2:]]  # (the same total: the pieces cut elsewhere)
    for info in (None, (crc ^ 1, lengths), (crc, [lengths[0] + 1, *lengths[1:]]), (crc, moved), "x"):
        got, reuse = pieces.inflate(data, info)
        assert got == text and reuse == {}
    assert len(pieces.inflate(data, (crc, lengths))[1]) == len(lengths)


def test_a_one_doc_update_deflates_few_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(pieces, "MIN_PIECE", 256)  # (the test corpus's two k/ buckets: many pieces each)
    docs = make_docs()
    index = StaticIndex(tmp_path / "state", tmp_path / "out", jobs=1)
    index.update(docs)
    old = docs[5]
    body = old.body[:10] + "新增一句话：如履薄冰。" + old.body[10:]
    edited = [*docs[:5], IndexDoc(**{**old.__dict__, "body": body, "fingerprint": "e"}), *docs[6:]]
    deflated: list[str] = []
    total: list[int] = []  # the pieces of every k/ bucket the update wrote
    one, whole = pieces.deflate_one, pieces.deflate
    monkeypatch.setattr(pieces, "deflate_one", lambda p, last: deflated.append(p) or one(p, last))
    monkeypatch.setattr(
        pieces, "deflate", lambda text, reuse=None: total.append(len(pieces.cut(text))) or whole(text, reuse)
    )
    stats = index.update(edited)
    assert stats.get("patched") == 1 and "assembled" not in stats, stats
    assert total and 0 < len(deflated) < sum(total) / 4, (len(deflated), sum(total))
    monkeypatch.setattr(pieces, "deflate_one", one)
    monkeypatch.setattr(pieces, "deflate", whole)
    StaticIndex(tmp_path / "state2", tmp_path / "clean", jobs=1).update(edited)
    assert _tree(tmp_path / "out" / "search") == _tree(tmp_path / "clean" / "search")


def _entry(rnd: random.Random, kind: str):
    if kind == "k":
        return wire.k_code(rnd.choice([1, 1, 2, 40, 5000]), rnd.choice([0, 0, 1, 300]), rnd.random() < 0.2)
    count = rnd.choice([1, 2, 3, 4, 40])
    heads = sorted(rnd.sample(range(count), rnd.randint(1, count))) if rnd.random() < 0.3 else []
    enc = (wire.vlq(len(heads)) + "".join(wire.vlq(h) for h in heads)) if heads else ""
    return (count, int(bool(heads)), enc + "".join(wire.vlq(rnd.randint(0, 70000)) for _ in range(count)))


@pytest.mark.parametrize("kind", ["k", "p"])
def test_a_long_postings_entries_found_with_numpy_as_by_the_walk(monkeypatch, kind):
    """``wire.entries_around`` of a long posting (``heads``: the entries' heads by doubling, no walk in
    Python) gives the walk's span, doc before and entries, and refuses a posting cut short where it does."""
    from site_builder.static_search import heads

    rnd = random.Random(17)
    numpy_calls = []
    real = heads.entries_around_numpy
    monkeypatch.setattr(heads, "entries_around_numpy", lambda *a: numpy_calls.append(1) or real(*a))
    for _ in range(300):
        docs = sorted(rnd.sample(range(3000), rnd.randint(1, 400)))
        posting = "".join(wire.encode_entries(kind, [(d, _entry(rnd, kind)) for d in docs], -1))
        lo = rnd.choice([0, rnd.randrange(3100), docs[-1], docs[-1] + 1, docs[0]])
        hi = lo + rnd.choice([0, 0, 3, 500])
        got = []
        cut = posting[: rnd.randrange(1, len(posting))]
        for limit in (1 << 30, 0):  # the walk, then numpy
            monkeypatch.setattr(wire, "_NUMPY_TOKENS", limit)
            monkeypatch.setattr(wire, "_NUMPY_HEADS", limit)
            got.append(wire.entries_around(kind, posting, lo, hi))
            try:
                got.append(wire.entries_around(kind, cut, lo, hi))
            except (ValueError, IndexError):  # (the walk: IndexError for some cut p/ postings)
                got.append("refused")
        assert got[0] == got[2] and got[1] == got[3], (lo, hi)
    assert len(numpy_calls) == 600
