"""Numbered version directories in TF Serving's layout, written so that a server never sees half of one."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from keras_contrastive.saving import current_umask

#: Hidden directories a writer stages in; the creating process's id follows the prefix.
STAGING_PREFIX = ".partial-"


def versions(base_dir: Path) -> list[int]:
    """The version numbers present in `base_dir`."""
    return [int(p.name) for p in base_dir.iterdir() if p.is_dir() and p.name.isdigit()]


def write_version(write: Callable[[str], None], base_dir: str | os.PathLike, version: int | None = None,
                  overwrite: bool = False) -> Path:
    """Calls `write(staging_path)`, then moves what it wrote to `base_dir/<version>` atomically.

    - The content is written to a hidden staging directory beside the target
      and renamed into place: a server polling `base_dir` sees a version
      whole or not at all.
    - The number is claimed by a rename that fails if the name exists, so two
      writers never report the same version; without an explicit `version`
      the loser takes the next free number, with one it gets FileExistsError
      and nothing is replaced.
    - Replacing a version (`overwrite=True`) swaps the two directories in
      one `renameat2(RENAME_EXCHANGE)` call, so even a writer killed halfway
      leaves a whole version (the old one, or the new one).
    - The version gets the permissions the umask gives a new directory, so a
      server running as another user can read it.
    - Staging directories left by killed writers (whose process is gone)
      are removed.

    Args:
        write: Writes the version's content into the directory it is given.
        base_dir: The model's base directory.
        version: The number to write; by default one more than the highest.
        overwrite: Whether an existing `version` may be replaced.

    Returns:
        The version directory.

    Example:
    >>> write_version(lambda path: archive.write_out(path), "serving/model")
    PosixPath('serving/model/1')
    """
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(base_dir)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=base_dir))
    try:
        write(str(staging))
        os.chmod(staging, 0o777 & ~current_umask())
        return _claim(staging, base_dir, version, overwrite)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def remove_stale_staging(base_dir: Path) -> list[Path]:
    """Removes the staging directories in `base_dir` whose writing process no longer runs.

    Returns:
        The directories removed.
    """
    removed = []
    for path in base_dir.glob(f"{STAGING_PREFIX}*"):
        pid = path.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if path.is_dir() and (not pid.isdigit() or not _running(int(pid))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _claim(staging: Path, base_dir: Path, version: int | None, overwrite: bool) -> Path:
    while True:
        number = version if version is not None else max(versions(base_dir), default=0) + 1
        target = base_dir / str(number)
        if overwrite and version is not None and target.exists():
            exchange(staging, target)  # staging now holds the old version, which the caller removes
            return target
        try:
            os.rename(staging, target)
            return target
        except OSError:
            if not target.exists():
                raise
            if version is not None:
                raise FileExistsError(
                    f"{target} was written by another process while this one wrote it; pass another "
                    "version, or overwrite=True to replace it."
                ) from None


def exchange(first: Path, second: Path) -> None:
    """Swaps two directories atomically (Linux `renameat2` with `RENAME_EXCHANGE`).

    Raises:
        OSError: where the system or file system cannot exchange names.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available: a version cannot be replaced atomically here")
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_current_directory, rename_exchange = -100, 2
    if renameat2(at_current_directory, os.fsencode(first), at_current_directory, os.fsencode(second),
                 rename_exchange) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"Could not exchange {first} and {second}: {os.strerror(code)}")
