"""File-system helpers shared by the packages: durable renames and atomic file writes."""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

# fsync on a directory is refused by some file systems (EINVAL, ENOTSUP: several network and
# FUSE file systems) and platforms (Windows cannot open a directory: EACCES, EISDIR). There,
# nothing more can be done to make a rename durable; any other error means it may not be.
_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES, errno.EISDIR, errno.EBADF}


def fsync_dir(directory: Path) -> None:
    """Make a file created or renamed in ``directory`` survive a power cut (POSIX).

    Write and fsync the file first, then call this: the directory entry that names the file is
    only durable once the directory itself is synced.

    Raises:
        OSError: the directory is missing, or syncing failed (EIO, ENOSPC…); not where the
            platform or file system cannot sync a directory at all.
    """
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as e:
        if e.errno in _UNSUPPORTED:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in _UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def _create_temp(target: Path, mode: int | None) -> tuple[int, Path]:
    """A new, empty file beside ``target`` (same directory, so the rename stays on one file
    system), hidden by a leading dot; with ``mode`` exactly that, else what ``open`` would give."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666 if mode is None else mode)
        except FileExistsError:  # pragma: no cover - 48 random bits; a leftover of a killed writer
            continue
        if mode is not None:
            try:
                os.fchmod(fd, mode)  # the umask may have taken bits the caller asked for
            except BaseException:
                os.close(fd)
                tmp.unlink(missing_ok=True)
                raise
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))  # pragma: no cover


@overload
def atomic_writer(
    path: Path | str, *, text: Literal[False] = False, mode: int | None = None, durable: bool = True
) -> AbstractContextManager[BinaryIO]: ...


@overload
def atomic_writer(
    path: Path | str,
    *,
    text: Literal[True],
    encoding: str = "utf-8",
    newline: str | None = None,
    mode: int | None = None,
    durable: bool = True,
) -> AbstractContextManager[TextIO]: ...


@contextmanager
def atomic_writer(
    path: Path | str,
    *,
    text: bool = False,
    encoding: str = "utf-8",
    newline: str | None = None,
    mode: int | None = None,
    durable: bool = True,
) -> Iterator[IO[Any]]:
    """Write ``path`` so that a reader, a crash or a power cut sees the old file or the new one,
    never part of either.

    Yields a stream open on a temporary file in the same directory (binary, or text with
    ``encoding`` and ``newline`` when ``text``). When the block ends normally the stream is
    flushed and fsynced, renamed over ``path`` (``os.replace``) and the directory synced. When it
    raises, the temporary file is deleted and ``path`` keeps what it held (or stays missing).
    The folder is created when missing.

    Args:
        path: the file to write.
        text: yield a text stream instead of a binary one.
        mode: the new file's permissions exactly (``0o600`` for a file only its owner may read,
            whatever the umask); None gives what ``open`` gives (0o666 less the umask).
        durable: fsync the file before the rename and the folder after it, so the new content
            survives a power cut. False still never shows part of a file (a crash of the
            process leaves the old one), for state rewritten often that a power cut may roll
            back, such as a job's progress.

    Raises:
        OSError: the folder or the file cannot be written; ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(target, mode)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) if text else os.fdopen(fd, "wb") as stream:
            yield stream
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(target.parent)


def atomic_write(
    path: Path | str, data: str | bytes, *, encoding: str = "utf-8", mode: int | None = None, durable: bool = True
) -> None:
    """Replace ``path`` with ``data`` (text is encoded with ``encoding``) atomically and durably;
    see ``atomic_writer``.

    Raises:
        OSError: the folder or the file cannot be written; ``path`` is left as it was.
    """
    payload = data.encode(encoding) if isinstance(data, str) else data
    with atomic_writer(path, mode=mode, durable=durable) as stream:
        stream.write(payload)
