"""`site-builder new`: a new speech file with its front matter and a body skeleton.

:func:`create_speech` decides the values (options, prompts in a terminal, what the title itself
says — read as `import` reads it) and writes ``content/<year>/<slug>.md``, never over a file.
"""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

import click

from . import schema
from .config import SiteConfig
from .dates import FORMATS_HINT, DateError, PartialDate, parse_date
from .importer import Vocabulary, import_text, render_front_matter
from .importer.batch import format_value, split_list, write_new
from .loader import display_path
from .messages_zh import bilingual
from .report import say
from .suggest import closest

BODY_SKELETON = """同志们：

<!-- 在这里写讲话正文：段落之间空一行；小标题写成 “## 一、……”、“### （一）……”。 -->

## 一、

## 二、

## 三、
"""


def stdin_is_tty() -> bool:
    """Whether to prompt (tests replace this)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def check_closed(value: str | None, known: tuple[str, ...] | None, option: str) -> None:
    """A value outside a configured closed list is a usage error naming the nearest entry."""
    if value is None or known is None or value in known:
        return
    near = closest(value, known, cutoff=0.3)
    raise click.BadParameter(
        f"{value!r} is not in the configured list"
        + (f"; did you mean {near!r}?" if near else "")
        + " (known: "
        + "、".join(known)
        + ")",
        param_hint=option,
    )


def parse_date_option(value: str | None, option: str = "--date") -> PartialDate | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except DateError as err:
        raise click.BadParameter(f"{err}; {FORMATS_HINT}", param_hint=option) from None


def _choose(prompt: str, known: tuple[str, ...], multiple: bool, default: list[str] | tuple[()] = ()) -> list[str]:
    """Prompt for a value, offering the known ones by number; ``default`` is what Enter accepts."""
    if known:
        click.echo(f"{prompt}（已有：" + "  ".join(f"{i}) {v}" for i, v in enumerate(known, 1)) + "）")
    hint = "编号或名称，多个用、或逗号分隔" if multiple else "编号或名称"
    answer = click.prompt(f"{prompt}（{hint}）", default="、".join(default), show_default=bool(default)).strip()
    parts = split_list(answer) if multiple else ([schema.clean_text(answer)] if answer else [])
    return [known[int(p) - 1] if p.isdigit() and 1 <= int(p) <= len(known) else p for p in parts]


def _prompt_values(values: dict, guess: dict, vocab: Vocabulary) -> None:
    default_date = guess["date"].iso() if guess.get("date") else _dt.date.today().isoformat()
    while values["date"] is None:
        answer = click.prompt("日期 date (2021-03-05, 2021-03 或 2021)", default=default_date)
        try:
            values["date"] = parse_date(answer)
        except DateError as err:
            click.echo("  " + bilingual(f"{err}; {FORMATS_HINT}").replace("\n", "\n  "))
    if not values["meeting_type"]:
        default = [guess["meeting_type"]] if guess.get("meeting_type") else []
        picked = _choose("会议类型 meeting_type", vocab.meeting_types, multiple=False, default=default)
        values["meeting_type"] = picked[0] if picked else None
    if not values["themes"]:
        values["themes"] = _choose("主题 themes", vocab.themes, multiple=True, default=list(guess.get("themes") or []))
    if values["speaker"] is None:
        values["speaker"] = click.prompt("讲话人 speaker（可空）", default="", show_default=False).strip() or None
    if values["organization"] is None:
        org = guess.get("organization") or ""
        values["organization"] = (
            click.prompt("单位 organization（可空）", default=org, show_default=bool(org)).strip() or None
        )


def create_speech(config: SiteConfig, content: Path, vocab: Vocabulary, values: dict, interactive: bool) -> int:
    """Write the new speech; ``values`` holds title, date, meeting_type, themes, speaker,
    organization, slug (None where not given). Returns the exit code (1: fields still to fill in)."""
    if not interactive and not values["title"]:
        raise click.UsageError("--title required when not prompting (--no-input, or input is not a terminal)")
    while not values["title"]:
        values["title"] = schema.clean_text(click.prompt("标题 title", default="", show_default=False))
    # What the title itself says (date, meeting type, organisation), read as import reads it.
    result = import_text(values["title"], "", config, vocab)
    guess = {k: v.value for k, v in result.sources.items() if v.source != "guess" and k != "title"}
    guess["themes"] = result.fields.get("themes") if "themes" in result.sources else None
    guessed: dict[str, object] = {}
    if interactive:
        _prompt_values(values, guess, vocab)
    else:
        for key in ("date", "meeting_type", "themes", "organization"):
            if not values[key] and guess.get(key) and not (key == "themes" and result.sources["themes"].review):
                values[key] = guessed[key] = guess[key]
        if values["date"] is None:
            raise click.UsageError(
                "--date required when not prompting and the title names no year "
                "(e.g. --date 2021-03-05, or --date 2021 when only the year is known)"
            )
    values["title"] = schema.clean_text(values["title"])
    check_closed(values["meeting_type"], config.meeting_types, "--meeting-type")
    for theme in values["themes"] or []:
        check_closed(theme, config.themes, "--theme")
    slug = values.pop("slug", None) or schema.slugify(values["title"])
    fields = {k: values[k] for k in ("title", "date", "meeting_type", "themes", "speaker", "organization")}
    missing = [f for f in schema.REQUIRED if not fields.get(f)]
    comments = ["fill in " + ", ".join(missing) + ", then run site-builder check"] if missing else []
    text = render_front_matter(fields, comments, placeholders=tuple(missing)) + "\n" + BODY_SKELETON
    target = content / str(fields["date"].year) / f"{slug}.md"
    try:
        write_new(target, text)
    except FileExistsError:
        message = f"{display_path(target)} already exists (new never overwrites); choose another name with --slug"
        click.echo(bilingual(message, "error: ", "错误："), err=True)
        return 1
    except OSError as err:
        click.echo(
            bilingual(f"cannot write {display_path(target)}: {err.strerror or err}", "error: ", "错误："), err=True
        )
        return 1
    _suggest_existing(fields, vocab)
    for key, value in guessed.items():
        say(f"{key}: {format_value(value)} (from the title; check it)")
    click.echo(display_path(target))
    if missing:
        say(f"fill in: {', '.join(missing)} in {display_path(target)}, then run site-builder check")
        return 1
    return 0


def _suggest_existing(fields: dict, vocab: Vocabulary) -> None:
    value = fields.get("meeting_type")
    if value and vocab.meeting_types and value not in vocab.meeting_types and not vocab.closed_meeting_types:
        near = closest(value, vocab.meeting_types, cutoff=0.6)
        if near:
            say(f"note: new meeting type {value!r}; did you mean the existing {near!r}?")
    for theme in fields.get("themes") or []:
        if vocab.themes and theme not in vocab.themes and not vocab.closed_themes:
            near = closest(theme, vocab.themes, cutoff=0.6)
            if near:
                say(f"note: new theme {theme!r}; did you mean the existing {near!r}?")
