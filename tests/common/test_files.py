"""common/files.py: fsync_dir, and the atomic writes of the catalog, job state, outbox, exports and secrets."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import files
from common.files import atomic_write, atomic_writer, fsync_dir


def test_syncs_a_directory(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(files.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    fsync_dir(tmp_path)
    assert len(synced) == 1


def test_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        fsync_dir(tmp_path / "missing")


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOTSUP])
def test_file_systems_that_cannot_sync_a_directory_are_let_be(tmp_path, monkeypatch, code):
    def refuse(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.os, "fsync", refuse)
    fsync_dir(tmp_path)


def test_a_failed_sync_is_reported(tmp_path, monkeypatch):
    def broken(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(files.os, "fsync", broken)
    with pytest.raises(OSError, match="Input/output error"):
        fsync_dir(tmp_path)


# -- atomic writes -------------------------------------------------------------------------------

contents = st.one_of(st.binary(max_size=4096), st.text(max_size=2048))


def _encoded(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


@settings(max_examples=60, deadline=None)
@given(old=st.none() | st.binary(max_size=512), new=contents)
def test_an_atomic_write_round_trips_its_content(old, new):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "nested" / "file.bin"
        if old is not None:
            path.parent.mkdir()
            path.write_bytes(old)
        atomic_write(path, new)
        assert path.read_bytes() == _encoded(new)
        assert os.listdir(path.parent) == ["file.bin"]


@settings(max_examples=40, deadline=None)
@given(chunks=st.lists(st.text(max_size=200), max_size=8))
def test_a_text_stream_round_trips_what_was_written_to_it(chunks):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "out.txt"
        with atomic_writer(path, text=True, newline="") as f:
            for chunk in chunks:
                f.write(chunk)
        assert path.read_bytes() == "".join(chunks).encode("utf-8")


class Boom(Exception):
    pass


@settings(max_examples=60, deadline=None)
@given(old=st.none() | st.binary(max_size=512), new=st.binary(min_size=1, max_size=2048), data=st.data())
def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary_file(old, new, data):
    cut = data.draw(st.integers(0, len(new)), label="bytes written before the failure")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "state.json"
        if old is not None:
            path.write_bytes(old)
        with pytest.raises(Boom), atomic_writer(path) as f:
            f.write(new[:cut])
            f.flush()
            raise Boom
        assert (path.read_bytes() if path.exists() else None) == old
        assert os.listdir(d) == ([] if old is None else ["state.json"])


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_sync_or_rename_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch, failing):
    folder = tmp_path / "home"
    folder.mkdir()
    path = folder / "catalog.json"
    path.write_text("old")

    def broken(*args):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(files.os, failing, broken)
    with pytest.raises(OSError, match="Input/output error"):
        atomic_write(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(folder) == ["catalog.json"]


def test_the_new_content_is_synced_before_the_rename_unless_not_durable(tmp_path, monkeypatch):
    order = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(files.os, "fsync", lambda fd: (order.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(files.os, "replace", lambda a, b: (order.append("replace"), real_replace(a, b))[1])
    atomic_write(tmp_path / "f", b"x")
    assert order == ["fsync", "replace", "fsync"]  # the file, the rename, the directory
    order.clear()
    atomic_write(tmp_path / "progress", b"y", durable=False)
    assert order == ["replace"] and (tmp_path / "progress").read_bytes() == b"y"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_a_mode_is_kept_whatever_the_umask_and_none_gives_what_open_gives(tmp_path, umask):
    tmp_path = tmp_path / "home"
    previous = os.umask(umask)
    try:
        atomic_write(tmp_path / "secret", "s", mode=0o600)
        atomic_write(tmp_path / "shared", "s", mode=0o644)
        atomic_write(tmp_path / "plain", "s")
        (tmp_path / "opened").write_text("s")
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"secret": 0o600, "shared": 0o644, "plain": modes["opened"], "opened": 0o666 & ~umask}


def test_replacing_a_file_gives_it_the_mode_asked_for(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text("old")
    path.chmod(0o644)
    atomic_write(path, "new", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "new"
