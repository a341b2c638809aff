"""File-system helpers shared by the packages."""

from __future__ import annotations

import errno
import os
from pathlib import Path

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
