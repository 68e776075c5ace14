"""Start-up of the command line (#15): a command imports what it uses, no more. `search` answers
from the Whoosh index without the template engine, Markdown, YAML, numpy, the preview server or
asyncio (the cached-property package that Whoosh's reader imports pulls it in; a shim stands in)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import speech

#: Never needed to answer a search (nor to start the CLI).
HEAVY = ("jinja2", "markdown", "yaml", "numpy", "site_builder.serve", "site_builder.build", "asyncio", "http.server")


def modules_after(code: str, cwd) -> tuple[list[str], str]:
    """The modules a fresh interpreter has loaded after running ``code`` (which prints to stdout)."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1]), proc.stdout


def test_importing_the_cli_loads_no_command_s_machinery(tmp_path):
    loaded, _ = modules_after("import site_builder.cli", tmp_path)
    assert [m for m in HEAVY + ("whoosh", "site_builder.schema") if m in loaded] == []


def test_search_loads_only_what_answers_it_and_answers_the_same(make_site):
    site = make_site(
        {
            "2020/a.md": speech(body="同志们：\n\n要如履薄冰，恪尽职守。\n"),
            "2021/b.md": speech(title="在2021年座谈会上的讲话", date="2021-02-03", body="如履薄冰。\n"),
        }
    )
    assert site.run("build", "-q") == 0
    code = "from site_builder.cli import main\nrc = main(['search', '如履薄冰', '--json'])\nassert rc == 0, rc"
    loaded, out = modules_after(code, site.root)
    assert [m for m in HEAVY if m in loaded] == []
    assert "whoosh.reading" in loaded  # it did search
    answer = json.loads(out)
    assert answer["total"] == 2 and {h["title"] for h in answer["hits"]} == {
        "在2020年度党建工作会议上的讲话",
        "在2021年座谈会上的讲话",
    }


def test_the_serve_command_is_there_when_asked_for():
    from site_builder import cli, server

    assert "serve" in cli.cli.commands
    assert cli.cli.commands["serve"] is server.serve_command
    assert cli.cli.get_command(None, "serve") is server.serve_command  # type: ignore[arg-type]
    assert cli.cli.commands.get("nothing") is None


def test_the_cached_property_shim_is_functools_and_gives_the_real_package_for_anything_else(tmp_path):
    code = (
        "import functools, site_builder.search\n"
        "import cached_property as c\n"
        "assert c.cached_property is functools.cached_property\n"
        "from cached_property import threaded_cached_property\n"
        "print(threaded_cached_property.__module__)"
    )
    loaded, out = modules_after(code, tmp_path)
    assert out.strip() == "cached_property" and "asyncio" in loaded


def test_a_build_with_nothing_to_do_loads_no_numpy_and_writes_nothing(make_site):
    """The common rebuild (`serve` on a save that changed nothing, a second `build`): numpy and the
    modules that need it (the plan's change detection) are loaded only when a speech,
    a template or a setting changed (page_changes.py is imported by page_inputs when it plans)."""
    site = make_site({"2020/a.md": speech(body="同志们：\n\n要如履薄冰。\n")})
    assert site.run("build", "-q") == 0
    code = "from site_builder.cli import main\nrc = main(['build', '-q'])\nassert rc == 0, rc"
    loaded, _ = modules_after(code, site.root)
    assert "site_builder.build" in loaded  # it did build
    assert [m for m in ("numpy", "site_builder.page_changes") if m in loaded] == []
    (site.root / "content" / "2020" / "a.md").write_text(speech(body="同志们：\n\n要如履薄冰，恪尽职守。\n"), "utf-8")
    loaded, _ = modules_after(code, site.root)
    assert "site_builder.page_changes" in loaded  # a changed speech is planned with it
