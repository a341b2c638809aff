"""common/files.py: one fsync_dir for the outbox and the exporter."""

from __future__ import annotations

import errno
import os

import pytest

from common import files
from common.files import fsync_dir


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
