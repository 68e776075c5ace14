"""Diagnostics go through logging (site_builder.* loggers) to stderr: warnings always, everything
with `import -v` or SITE_BUILDER_DEBUG=1; user messages do not go through logging."""

from __future__ import annotations

import logging

import pytest

from site_builder.cli import main
from site_builder.report import configure_logging

log = logging.getLogger("site_builder.some_module")


@pytest.fixture(autouse=True)
def quiet_again(monkeypatch):
    monkeypatch.delenv("SITE_BUILDER_DEBUG", raising=False)
    yield
    configure_logging()


def test_warnings_are_shown_and_debug_only_when_verbose(capsys):
    configure_logging()
    log.debug("inner detail")
    log.warning("something odd")
    err = capsys.readouterr().err
    assert "something odd" in err and "site_builder.some_module" in err
    assert "inner detail" not in err
    configure_logging(verbose=True)
    log.debug("inner detail")
    assert "site-builder: DEBUG: site_builder.some_module: inner detail" in capsys.readouterr().err


def test_site_builder_debug_shows_everything(capsys, monkeypatch):
    monkeypatch.setenv("SITE_BUILDER_DEBUG", "1")
    configure_logging()
    log.debug("inner detail")
    assert "inner detail" in capsys.readouterr().err


def test_one_handler_however_often_it_is_configured(capsys):
    for _ in range(3):
        configure_logging()
    log.warning("once")
    assert capsys.readouterr().err.count("once") == 1


def test_the_command_line_configures_it(capsys):
    logging.getLogger("site_builder").setLevel(logging.DEBUG)
    assert main(["--help"]) == 0
    assert logging.getLogger("site_builder").level == logging.WARNING
    log.debug("inner detail")
    assert "inner detail" not in capsys.readouterr().err
