"""``site-builder reuse [SPEECH]``: the passages found in more than one speech, on a terminal or as
``{"passages": [{"text", "occurrences": [{"source", "url"}]}]}`` (url: the page and ``#p{n}``).

The speeches are read as ``export`` reads them (the build cache when current, else the files;
nothing is written), and the passages are found afresh, in memory, with ``--min-chars`` or the
site's ``reuse_min_chars``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from .stage import Doc, Passage, find_reuse

SHOWN = 60  # characters of a passage on a terminal


def run(config, speech: str | None, as_json: bool, min_chars: int | None, write) -> tuple[int, list]:
    """Write the report; return (exit code, error problems of speeches left out)."""
    from ..export import load_rows

    rows, errors, _skipped = load_rows(config, with_text=True)
    texts = {r["source"]: r["text"] for r in rows}
    urls = {r["source"]: r["url"] for r in rows}
    docs = [Doc(s, hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest()) for s, t in texts.items()]
    least = min_chars or config.reuse_min_chars
    found = find_reuse(docs, lambda source, _digest: texts[source], least)
    passages = found.passages if speech is None else found.of(_source(speech, config, urls))
    if as_json:
        write(json.dumps(as_dict(passages, urls), ensure_ascii=False, indent=1) + "\n")
    else:
        write(terminal(passages, urls, least))
    return (1 if errors else 0), errors


def as_dict(passages: Sequence[Passage], urls: dict[str, str]) -> dict:
    return {
        "passages": [
            {
                "text": p.text,
                "occurrences": [{"source": pl.source, "url": f"{urls[pl.source]}#p{pl.paragraph}"} for pl in p.places],
            }
            for p in passages
        ]
    }


def terminal(passages: Sequence[Passage], urls: dict[str, str], least: int) -> str:
    if not passages:
        return f"没有找到与其他讲话相同的段落（至少 {least} 字）。\n"
    out = [f"找到 {len(passages)} 段与其他讲话相同的文字（至少 {least} 字，比较前统一了繁简、全半角和大小写）：", ""]
    for n, p in enumerate(passages, 1):
        text = p.text if len(p.text) <= SHOWN else p.text[: SHOWN - 1] + "…"
        out.append(f"{n}. {text}（{len(p.text)} 字）")
        out += [f"   {pl.source} 第 {pl.paragraph} 段  {urls[pl.source]}#p{pl.paragraph}" for pl in p.places]
        out.append("")
    return "\n".join(out)


def _source(speech: str, config, urls: dict[str, str]) -> str:
    """The speech meant by SPEECH: its source under content/, a path to its file, or its page's
    URL (as `search --json` and `export` give it, with or without the output folder)."""
    if speech in urls:
        return speech
    path = Path(speech).expanduser()
    try:
        rel = path.resolve().relative_to(config.content).as_posix()
    except (ValueError, OSError):
        rel = None
    if rel in urls:
        return rel
    wanted = speech.split("#")[0].split("?")[0].lstrip("/")
    out_name = config.output.name + "/"
    for source, url in urls.items():
        if wanted in (url, out_name + url) or wanted.endswith("/" + url):
            return source
    raise UsageError(
        f"找不到讲话 {speech}：请给出 content/ 中的讲话文件（如 content/2021/讲话.md）"
        "或其页面的网址（如 speeches/2021/讲话.html）；有错误的讲话不参与比较"
    )
