"""fileio.write_atomic / atomic_open: the one atomic-write helper."""

from __future__ import annotations

import os
import stat

import pytest

from site_builder import fileio
from site_builder.fileio import TEMP_NAME, atomic_open, write_atomic


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_writes_bytes_and_utf8_str(tmp_path):
    target = tmp_path / "a.html"
    write_atomic(target, b"\x00\xffbytes")
    assert target.read_bytes() == b"\x00\xffbytes"
    write_atomic(target, "讲话稿\r\n")
    assert target.read_bytes() == "讲话稿\r\n".encode()
    assert os.listdir(tmp_path) == ["a.html"]


def test_permissions_are_those_of_open_not_mkstemp(tmp_path):
    target = tmp_path / "page.html"
    write_atomic(target, b"x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()


def test_creates_missing_folders_unless_told_not_to(tmp_path):
    write_atomic(tmp_path / "a" / "b" / "c.js", b"1")
    assert (tmp_path / "a" / "b" / "c.js").read_bytes() == b"1"
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "c.js", b"1", parents=False)
    assert not (tmp_path / "missing").exists()


def test_temporary_file_is_hidden_beside_the_target_and_known_to_the_cleaner(tmp_path):
    target = tmp_path / "out.js"
    with atomic_open(target) as fh:
        fh.write(b"partial")
        names = os.listdir(tmp_path)
        assert len(names) == 1 and names[0] != "out.js"
        assert names[0].startswith(".tmp-") and names[0].endswith(".js")
        assert TEMP_NAME.fullmatch(names[0])
        assert not target.exists()  # nothing is published before the block ends
    assert os.listdir(tmp_path) == ["out.js"]


def test_an_error_while_writing_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "manifest.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_open(target) as fh:
        fh.write(b"new, half written")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["manifest.bin"]


def test_a_failing_rename_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "index.json"
    target.write_bytes(b"old")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["index.json"]


def test_a_folder_in_the_way_is_an_error_and_nothing_is_left(tmp_path):
    (tmp_path / "page.html").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path / "page.html", b"x")
    assert os.listdir(tmp_path) == ["page.html"]


def test_fsync_syncs_the_file_before_the_rename_and_then_its_folder(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", stat.S_ISDIR(os.fstat(fd).st_mode)))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", None))
        real_replace(src, dst)

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    monkeypatch.setattr(fileio.os, "replace", replace)
    write_atomic(tmp_path / "toc.bin", b"x", fsync=True)
    assert events == [("fsync", False), ("replace", None), ("fsync", True)]
    events.clear()
    write_atomic(tmp_path / "toc.bin", b"y")
    assert events == [("replace", None)]
    assert (tmp_path / "toc.bin").read_bytes() == b"y"


def test_text_mode_writes_utf8_and_keeps_newlines(tmp_path):
    target = tmp_path / "VERSION.json"
    with atomic_open(target, "w") as fh:
        fh.write('{"format": "三"}\r\n')
    assert target.read_bytes() == '{"format": "三"}\r\n'.encode()
    with pytest.raises(ValueError):
        atomic_open(target, "a")


def test_a_suffix_the_cleaner_would_not_know_is_left_off_the_temporary_name(tmp_path):
    target = tmp_path / "archive.some-thing"
    with atomic_open(target) as fh:
        fh.write(b"x")
        (name,) = os.listdir(tmp_path)
        assert TEMP_NAME.fullmatch(name), name
    assert target.read_bytes() == b"x"


def test_a_full_disk_at_opening_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    class FullDisk:
        def __getattr__(self, name):
            return getattr(os, name)

        def fdopen(self, fd, *args, **kwargs):
            os.close(fd)  # as io.open does when it fails after taking the descriptor
            raise OSError(28, "No space left on device")

    target = tmp_path / "page.html"
    target.write_bytes(b"old")
    monkeypatch.setattr(fileio, "os", FullDisk())
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["page.html"]


def test_a_temporary_file_left_by_a_killed_writer_is_removed_by_the_next_build(tmp_path):
    from site_builder.writer import remove_leftovers

    (tmp_path / "speeches").mkdir()
    (tmp_path / "speeches" / "a.html").write_bytes(b"published")
    fd, tmp = fileio._create_temp(tmp_path / "speeches" / "a.html", parents=True)  # then killed
    os.write(fd, b"half")
    os.close(fd)
    assert remove_leftovers(tmp_path) == [f"speeches/{tmp.name}"]
    assert sorted(p.name for p in (tmp_path / "speeches").iterdir()) == ["a.html"]


def test_a_folder_made_by_another_writer_between_our_open_and_our_check_is_used(tmp_path, monkeypatch):
    """Two workers writing into a new folder: ours fails to open (no folder yet), the other makes
    the folder, then ours looks — the folder is there now, and ours writes into it."""
    target = tmp_path / "docs" / "1b" / "x.arr"
    real_open = os.open
    calls = []

    def racing_open(path, flags, mode=0o777):
        calls.append(path)
        if len(calls) == 1:
            target.parent.mkdir(parents=True)  # the other writer, just after our open failed
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(fileio.os, "open", racing_open)
    with atomic_open(target) as fh:
        fh.write(b"ok")
    assert target.read_bytes() == b"ok" and len(calls) == 2
