"""Every message a reader or author sees is Chinese first (messages_zh), the English after it.

The scan reads the package's source (its AST): every message and hint given to ``Problem(...)``,
to the schema checker, to the Markdown limits, raised as a SiteBuilderError (and its kin: front
matter, dates, compare, encoding), returned by the functions that explain a bad value, and the
module-level hint tables. A new English-only message there makes this test fail.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest
from conftest import speech

from site_builder import dates, frontmatter, markup, schema
from site_builder.errors import Problem
from site_builder.messages_zh import bilingual, more_text, problem_text, translate

PACKAGE = Path(__file__).resolve().parent.parent / "site_builder"
HOLE = "\x00"  # where an f-string puts a value

#: Exceptions whose text is shown to the user (besides SiteBuilderError and its subclasses).
SHOWN_ERRORS = {"SiteBuilderError", "FrontMatterError", "DateError", "CompareError", "EncodingProblem", "TooComplex"}
#: click's errors we raise (click prints them as ``Error: …``; main() puts the Chinese before).
CLICK_ERRORS = {"UsageError", "BadParameter"}
#: Functions whose return values are messages or hints.
EXPLAINERS = {"slug_problem", "_misread_date", "_yaml_hint", "hint"}
SAMPLES = ["x", "12", "'x'", "", "file", "content/a.md"]
#: Templates whose holes take values the samples cannot stand for: a real message instead.
EXAMPLES = {
    f"{HOLE}, and {HOLE}, as {HOLE}": "the same text, and nearly the same text (95% of sentences), as content/a.md",
}


def _texts(node, env: dict[str, list[str]]) -> list[str]:
    """The message templates an expression can produce (HOLE for each value put in)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.JoinedStr):
        out = [""]
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts = [value.value]
            elif isinstance(value.value, ast.Name) and value.value.id in env and value.conversion == -1:
                parts = env[value.value.id]
            else:
                parts = [HOLE]
            out = [a + b for a, b in itertools.product(out, parts)][:64]
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _texts(node.left, env), _texts(node.right, env)
        if not left and not right:
            return []
        return [a + b for a, b in itertools.product(left or [HOLE], right or [HOLE])]
    if isinstance(node, ast.IfExp):
        return _texts(node.body, env) + _texts(node.orelse, env)
    if isinstance(node, ast.BoolOp):
        return [t for v in node.values for t in _texts(v, env)]
    if isinstance(node, ast.Tuple):
        return [t for v in node.elts for t in _texts(v, env)]
    return []


def _name(func) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _local_strings(func: ast.AST, constants: dict[str, list[str]]) -> dict[str, list[str]]:
    """Names a function assigns text to (``what = "…"``), each with every text it may hold."""
    env: dict[str, list[str]] = {}
    for node in ast.walk(func):
        single = isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        if single and (texts := _texts(node.value, constants)):
            env.setdefault(node.targets[0].id, []).extend(texts)
    for node in ast.walk(func):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id in env:
            env[node.target.id] += [a + b for a in env[node.target.id] for b in _texts(node.value, {})]
    return env


def _shown_errors(trees: dict[Path, ast.Module]) -> set[str]:
    names = set(SHOWN_ERRORS)
    grown = True
    while grown:
        grown = False
        for tree in trees.values():
            for node in ast.walk(tree):
                subclass = isinstance(node, ast.ClassDef) and any(_name(base) in names for base in node.bases)
                if subclass and node.name not in names:
                    names.add(node.name)
                    grown = True
    return names


def _message_args(node: ast.Call, path: Path, shown: set[str]) -> list[ast.expr]:
    name = _name(node.func)
    keywords = [k.value for k in node.keywords if k.arg in ("message", "hint")]
    if name == "Problem":
        return node.args[3:5] + keywords
    if name == "add" and path.name == "schema.py":
        return node.args[1:3]
    if name in ("say", "notify", "bilingual"):  # report.say, the build's notices, the new command's lines
        return node.args[:1]
    if name == "fail" and path.name == "markup.py":
        return node.args[1:3]
    if name == "__init__" and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call):
        return list(node.args) if _name(node.func.value.func) == "super" else []
    return []


def _scan_function(func, path: Path, shown: set[str], in_shown_class: bool, found: list, constants: dict) -> None:
    env = {**constants, **_local_strings(func, constants)}
    where = f"{path.relative_to(PACKAGE.parent)}:{func.lineno}"
    for node in ast.walk(func):
        args: list[ast.expr] = []
        if isinstance(node, ast.Call):
            args = _message_args(node, path, shown)
            if _name(node.func) == "__init__" and not in_shown_class:
                args = []
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func_node = node.exc.func
            from_click = isinstance(func_node, ast.Attribute) and _name(func_node.value) == "click"
            if _name(func_node) in (CLICK_ERRORS if from_click else shown):
                args = list(node.exc.args)
        elif isinstance(node, ast.Return) and func.name in EXPLAINERS and node.value is not None:
            args = [node.value]
        for arg in args:
            found.extend((where, text) for text in _texts(arg, env))


def message_templates() -> list[tuple[str, str]]:
    """(file:line, template) of every message and hint the package shows, found in its source."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(PACKAGE.rglob("*.py"))}
    shown = _shown_errors(trees)
    found: list[tuple[str, str]] = []
    for path, tree in trees.items():
        constants = {
            node.targets[0].id: [node.value.value]
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        }
        for cls in [None, *[n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]]:
            body = tree.body if cls is None else cls.body
            for func in body:
                if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    in_shown = cls is not None and cls.name in shown
                    _scan_function(func, path, shown, in_shown, found, constants)
    for table in (schema._FIELD_HINTS, frontmatter._HINTS):
        found.extend(("hint table", text) for text in table.values())
    found += [("hint", frontmatter._ALIAS_HINT), ("hint", dates.FORMATS_HINT)]
    for name, _chars, _per_paragraph, _per_file, hint in markup._COUNTED:
        found += [("markup limit", f"more than 500 {name} in the paragraph starting at line 7"), ("hint", hint)]
    return sorted(set(found))


def _already_chinese(template: str) -> bool:
    """Messages written bilingual where they are made (the importer's, the search command's): Chinese
    with the English in brackets, or (a few command-line ones) the other way round."""
    chinese_first = r"[\u4e00-\u9fff]{2,}[^()（）]*[(（][ -~]*[A-Za-z]{3,}"
    english_first = r"[A-Za-z]{3,}[^()（）]*[(（][^()（）]*[\u4e00-\u9fff]{2,}"
    return bool(re.search(chinese_first, template) or re.search(english_first, template))


def _composed_elsewhere(template: str) -> bool:
    """Only values (``f"{what}{why}"``): the parts are messages of their own, scanned where made."""
    return not any(ch.isalpha() for ch in template.replace(HOLE, ""))


def _translatable(template: str) -> bool:
    if template in EXAMPLES:
        return translate(EXAMPLES[template]) is not None
    template = template.replace("{start}", "7")  # markup fills it in later
    holes = template.count(HOLE)
    if holes <= 3:
        choices = itertools.product(SAMPLES, repeat=holes)
    else:
        choices = ((sample,) * holes for sample in SAMPLES)
    for values in choices:
        parts = template.split(HOLE)
        text = parts[0] + "".join(v + part for v, part in zip(values, parts[1:]))
        if translate(text) is not None:
            return True
    return False


def test_the_scan_finds_the_messages_it_should():
    templates = {t for _, t in message_templates()}
    assert len(templates) > 200, len(templates)
    for known in (
        "missing (required)",  # schema, through its checker
        f"{HOLE} has month {HOLE}, which does not exist",  # dates, a raised DateError
        "unclosed front matter: no closing '---' line",  # frontmatter
        "not UTF-8 (unknown encoding)",  # textio, super().__init__
        f"HTML elements nested more than {HOLE} levels deep",  # markup, its fail()
        f"{HOLE} and {HOLE} would both be written to the same URL ({HOLE}){HOLE}",  # model, through `what`
        "the same text as " + HOLE,  # build, through `what`
        f"another build of this output folder is still running (waited {HOLE} s); try again when it has finished",
        "another build of this output folder is running; waiting for it to finish …",  # a notice, notify()
        f"export: {HOLE} speeches written to {HOLE}",  # the CLI, say()
    ):
        assert any(known.replace(HOLE, "") in t.replace(HOLE, "") for t in templates), known


def test_every_english_message_has_its_chinese():
    templates = message_templates()
    english = [(where, t) for where, t in templates if not _already_chinese(t) and not _composed_elsewhere(t)]
    missing = [f"{where}: {t!r}" for where, t in english if not _translatable(t)]
    assert not missing, "no Chinese in site_builder/messages_zh.py for:\n" + "\n".join(missing)


def test_every_pattern_is_a_whole_message_and_every_template_fills():
    # Each entry's Chinese has no English sentence left in it and no unfilled {n}.
    for message in (
        "'2020-13-01' has month 13, which does not exist",
        "YAML error: mapping values are not allowed in this context",
        "expected a whole number ≥ 1, got 0",
    ):
        zh = translate(message)
        assert zh and not re.search(r"\{\d+\*?\}", zh) and not re.search(r"[a-z]{4,} [a-z]{4,}", zh), zh
    assert translate("something nobody wrote a translation for") is None


def test_a_problem_prints_chinese_lines_then_the_english_ones_unchanged():
    p = Problem("content/a.md", 3, "date", "'2020-13-01' has month 13, which does not exist", dates.FORMATS_HINT)
    assert problem_text(p).splitlines() == [
        "content/a.md:3: date：'2020-13-01' 中的月份 13 不存在",
        "content/a.md:3: date: '2020-13-01' has month 13, which does not exist",
        "    提示：请写成 2020-03-05、2020-03、2020 或 2020年3月5日 这样的形式",
        "    hint: write it as 2020-03-05, 2020-03, 2020 or 2020年3月5日",
    ]
    warning = Problem("content/a.md", 2, "encoding", "something new", "something else", severity="warning")
    assert problem_text(warning) == warning.format()  # untranslated: as before
    assert more_text(5, "title", "missing (required)").splitlines() == [
        "……另有 5 个文件有同样的问题：title：缺少此项（必填）",
        "... and 5 more files with title: missing (required)",
    ]
    assert bilingual("Checked 2 speeches; 1 errors, 0 warnings in 0.05 s").splitlines() == [
        "已检查 2 篇讲话：1 个错误，0 个警告，用时 0.05 秒",
        "Checked 2 speeches; 1 errors, 0 warnings in 0.05 s",
    ]
    assert (
        bilingual(
            "Built 3 speeches, 40 pages (2 written, 1 removed); 0 errors, 1 warnings in 1.20 s (nothing changed)"
        ).splitlines()[0]
        == "已生成 3 篇讲话，40 个页面（写入 2 个，删除 1 个）：0 个错误，1 个警告，用时 1.20 秒（没有变化）"
    )


def _check(site, capsys, *files) -> list[str]:
    for rel, text in files:
        site.write(rel, text)
    code = site.run("check")
    assert code == 1
    return capsys.readouterr().err.splitlines()


def test_a_bad_date_is_printed_in_chinese_then_english(site, capsys):
    lines = _check(site, capsys, ("2020/a.md", speech(date="2020-13-01")), ("2020/b.md", speech(title="另一篇")))
    i = lines.index("content/2020/a.md:3: date：'2020-13-01' 中的月份 13 不存在")
    assert lines[i + 1] == "content/2020/a.md:3: date: '2020-13-01' has month 13, which does not exist"
    assert lines[i + 2] == "    提示：请写成 2020-03-05、2020-03、2020 或 2020年3月5日 这样的形式"
    assert lines[i + 3] == "    hint: write it as 2020-03-05, 2020-03, 2020 or 2020年3月5日"
    summary = next(n for n, line in enumerate(lines) if line.startswith("已检查 1 篇讲话：1 个错误，0 个警告，用时 "))
    assert lines[summary + 1].startswith("Checked 1 speeches; 1 errors, 0 warnings in ")


def test_a_missing_title_and_an_unknown_field(site, capsys):
    text = speech().replace("title: 在2020年度党建工作会议上的讲话\n", "").replace("meeting_type:", "meeting_typ:")
    lines = _check(site, capsys, ("a.md", text))
    assert "content/a.md:1: title：缺少此项（必填）" in lines
    assert "content/a.md:1: title: missing (required)" in lines
    assert "    提示：例如 title: 在2020年度党建工作会议上的讲话" in lines
    i = lines.index("content/a.md:3: 警告：meeting_typ：未知的字段，已忽略")
    assert lines[i + 1 : i + 4] == [
        "content/a.md:3: warning: meeting_typ: unknown field, ignored",
        "    提示：是不是想写 'meeting_type'？",
        "    hint: did you mean 'meeting_type'?",
    ]


def test_bad_yaml_names_the_front_matter_in_chinese(site, capsys):
    lines = _check(site, capsys, ("a.md", "---\ntitle: 讲话: 上半年\ndate: 2020\n---\n正文\n"))
    assert "content/a.md:2: 文件头：YAML 格式错误：这里不能出现“: ”（冒号后跟空格）" in lines
    assert "content/a.md:2: front matter: YAML error: mapping values are not allowed in this context" in lines
    assert '    提示：值中含有冒号时，请给值加上引号，例如 title: "…：…"' in lines


def test_a_file_that_is_not_utf8(site, capsys):
    lines = _check(site, capsys, ("a.md", speech(title="中文标题").encode("gbk")))
    assert "content/a.md:2: 编码：不是 UTF-8 编码（看起来是 GB18030）" in lines
    assert "content/a.md:2: encoding: not UTF-8 (looks like GB18030)" in lines
    assert any(line.startswith("    提示：可以用这条命令转换：iconv -f GB18030 -t UTF-8 ") for line in lines)


@pytest.mark.parametrize(
    "body, chinese",
    [
        ("[" * 600 + "\n", "从第 7 行开始的段落中“[”超过 500 个"),
        ("- " * 40 + "x\n", "列表、引用或定义嵌套了 40 层（上限 32 层）"),
        ("<div>" * 200 + "\n", "HTML 元素嵌套超过 100 层"),
    ],
)
def test_hostile_markdown_is_explained_in_chinese(site, capsys, body, chinese):
    lines = _check(site, capsys, ("a.md", speech(body=body)))
    assert f"content/a.md:7: Markdown 正文：{chinese}" in lines, lines
    assert any(line.startswith("content/a.md:7: markdown: ") for line in lines)
    assert any(line.startswith("    提示：") for line in lines)


def test_a_usage_error_is_printed_in_chinese_then_english(site, capsys):
    assert site.run("check", "--content", "nowhere") == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("错误：内容文件夹 nowhere 不存在：请创建它")
    assert lines[1].startswith("error: content folder nowhere not found: create it")


def test_a_click_usage_error_gets_its_chinese_line_first(site, capsys):
    assert site.run("check", "--bogus") == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "错误：没有选项 --bogus" and "Error: No such option '--bogus'." in lines
    assert site.run("new", "--no-input", "--slug", "a/b") == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "错误：--slug 的值无效：slug 'a/b' 含有不能用在网址或文件名中的字符", lines
    assert lines[-1].startswith("Error: Invalid value for --slug: the slug 'a/b' has characters")
