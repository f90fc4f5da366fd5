"""Safe archive extraction: tar and zip members can neither escape the target nor be half-written.

`safe_extract` checks every member name first (no absolute names, no `..`,
no links or devices), then extracts every member to a scratch file and only
when all of them are complete (a zip's CRC is checked as its member is read)
renames them into place. A damaged or unsafe archive therefore leaves neither
files in the target nor scratch files behind.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import stat
import tarfile
import zipfile
from typing import Callable

from curves.errors import DownloadError, UnsafeArchiveError

CHUNK_BYTES = 1 << 20
EXTRACT_SUFFIX = ".extract"


def safe_relpath(name: str) -> pathlib.PurePosixPath:
    """`name` as a relative path that cannot leave the directory it is joined to.

    Raises:
      UnsafeArchiveError: `name` is empty, absolute (also a Windows drive or
        UNC path), or has a `..` component.
    """
    posix = name.replace("\\", "/")
    path = pathlib.PurePosixPath(posix)
    if not posix or path.is_absolute() or (len(posix) > 1 and posix[1] == ":") or ".." in path.parts:
        raise UnsafeArchiveError(f"refusing path {name!r}: it is absolute or contains '..', so it could write "
                                 "outside the dataset directory")
    if not path.parts or path.parts == (".",):
        raise UnsafeArchiveError(f"refusing empty path {name!r}")
    return path



def safe_extract(archive: pathlib.Path, dest: pathlib.Path, scratch: pathlib.Path) -> list[pathlib.Path]:
    """Unpacks a tar or zip archive below `dest`, refusing anything that could escape it.

    Every member name is checked first (no absolute names, no `..`, no
    symbolic or hard links, no devices); only if all pass are the regular files
    written, each to a temporary file in `scratch` and renamed into place.

    Returns:
      The files written.

    Raises:
      UnsafeArchiveError: a member is unsafe (nothing is extracted then).
      DownloadError: the file is neither a tar nor a zip archive.
    """
    members: list[tuple[pathlib.PurePosixPath, object]] = []
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = safe_relpath(info.filename)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise UnsafeArchiveError(f"{str(archive)!r}: member {info.filename!r} is a symbolic link; "
                                             "refusing to extract the archive")
                if not info.is_dir():
                    members.append((rel, info))
            return _write_members(archive, dest, scratch, members, zf.open)
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for info in tf.getmembers():
                rel = safe_relpath(info.name)
                if info.isdir():
                    continue
                if not info.isfile():
                    raise UnsafeArchiveError(f"{str(archive)!r}: member {info.name!r} is a link or device; "
                                             "refusing to extract the archive")
                members.append((rel, info))
            return _write_members(archive, dest, scratch, members, tf.extractfile)
    raise DownloadError(f"{str(archive)!r} is neither a tar nor a zip archive; delete it and download again")


def _write_members(archive: pathlib.Path, dest: pathlib.Path, scratch: pathlib.Path,
                   members: list[tuple[pathlib.PurePosixPath, object]],
                   open_member: Callable[[object], object]) -> list[pathlib.Path]:
    """Writes already-checked members, each through a temporary file in `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[pathlib.Path, pathlib.Path]] = []
    try:
        for rel, info in members:
            tmp = scratch / f"{archive.name}.{len(staged)}{EXTRACT_SUFFIX}"
            staged.append((tmp, dest.joinpath(*rel.parts)))
            with open_member(info) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK_BYTES)  # a zip member's CRC is checked at its end
                dst.flush()
                os.fsync(dst.fileno())
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as err:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise DownloadError(f"{str(archive)!r} is damaged ({type(err).__name__}: {err}); nothing was extracted, "
                            "delete it and download again") from None
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    return [target for _, target in staged]
