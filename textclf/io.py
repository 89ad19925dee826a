"""Atomic writes: a file, or a whole folder, is built beside its target and then renamed over it.

A crash or Ctrl-C mid-write leaves either the old file (folder) or the new one,
never half of one, so a learner's saved work is never lost to a partial write.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def atomic_write(path: str | Path, write: Callable[[Path], None], suffix: str = "") -> None:
    """Call ``write(tmp_path)`` then atomically move ``tmp_path`` to ``path`` (``suffix``: the temporary
    file's name ends with it, for writers that insist on an extension)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + suffix)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600 files; give the usual permissions
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# Whole folders (a bundle is several files that must agree): build the new folder beside the
# target, then swap it in with two renames. A crash before the swap leaves the old folder as it
# was; a crash between the two renames leaves the old folder under ``.NAME.old-*`` and no NAME,
# which ``recover_directory`` (called before every write, and by readers) renames back.
NEW, OLD = ".new-", ".old-"


def _siblings(path: Path, kind: str) -> list[Path]:
    return sorted(path.parent.glob(f".{glob.escape(path.name)}{kind}*"), key=lambda p: p.stat().st_mtime)


def recover_directory(path: str | Path, clean: bool = True) -> None:
    """Undo what a crash mid-swap left: restore ``.NAME.old-*`` if NAME is gone; with ``clean``, also drop
    unfinished copies (only a writer should: a reader must not delete a save in progress)."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    old = _siblings(path, OLD)
    if old and not path.exists():
        os.rename(old[-1], path)
        old = old[:-1]
    if clean:
        for leftover in [*old, *_siblings(path, NEW)]:
            shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def atomic_directory(path: str | Path, keep: Callable[[str], bool] = lambda name: True) -> Iterator[Path]:
    """Yield an empty folder beside ``path``; if the block ends without an error, it replaces ``path``.

    Entries of the old ``path`` that the new folder does not have and ``keep(name)`` accepts
    (a learner's own files) are carried over as hard links, so nothing already saved is lost.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path}: exists and is not a folder; expected a folder to write the bundle into")
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}{NEW}"))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700 folders
        yield tmp
        if path.exists():
            for entry in path.iterdir():
                if keep(entry.name) and not (tmp / entry.name).exists():
                    _link_copy(entry, tmp / entry.name)
        _swap(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _link_copy(source: Path, target: Path) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:  # another file system, or links not allowed
            shutil.copy2(src, dst)

    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, target, copy_function=link, symlinks=True)
    elif source.is_symlink():
        os.symlink(os.readlink(source), target)
    else:
        link(str(source), str(target))


def _swap(new: Path, path: Path) -> None:
    if not path.exists():
        os.rename(new, path)
        return
    old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}{OLD}"))
    os.rmdir(old)  # a unique name; the rename below takes it
    os.rename(path, old)
    os.rename(new, path)
    shutil.rmtree(old, ignore_errors=True)


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the ``.NAME.*.tmp`` files a killed ``atomic_write`` left in ``folder``; return them."""
    folder = Path(folder)
    stale = [p for p in folder.glob(".*.tmp") if p.is_file()] if folder.is_dir() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return stale
