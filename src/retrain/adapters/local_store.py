"""ObjectStore on a local folder: the embedded default, same layout as Blob Storage.

create-only = write a temp file, then ``os.link`` it into place (atomic, fails if taken);
compare-and-swap = an exclusive ``flock`` on the folder's lock file around check + rename.
Readers never see half-written files. ETags are content hashes."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from retrain.domain.errors import BackendError
from retrain.domain.ports import AlreadyExists, PreconditionFailed, StoredObject

_TMP = ".tmp"
_LOCK = ".lock"


T = TypeVar("T")


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _os_errors(method: Callable[..., T]) -> Callable[..., T]:
    """A disk that is full, read-only or gone is a backend failure, like storage down."""

    @functools.wraps(method)
    def wrapper(self: LocalObjectStore, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except OSError as exc:
            raise BackendError(
                f"artifact folder {self.root}: {method.__name__} failed "
                f"({type(exc).__name__}: {exc.strerror or exc})"
            ) from None

    return wrapper


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            raise ValueError(f"invalid key {key!r}")
        return self.root.joinpath(*parts)

    def _write_temp(self, data: bytes) -> Path:
        tmp_dir = self.root / _TMP
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / uuid.uuid4().hex
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / _LOCK, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @_os_errors
    def get(self, key: str) -> StoredObject | None:
        try:
            data = self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return StoredObject(data, _etag(data))

    @_os_errors
    def create(self, key: str, data: bytes) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._write_temp(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            stored = self.get(key)
            if stored is None or stored.data != data:  # equal bytes: the same write (the port)
                raise AlreadyExists(key) from None
        finally:
            tmp.unlink(missing_ok=True)
        return _etag(data)

    @_os_errors
    def replace(self, key: str, data: bytes, etag: str | None) -> str:
        path = self._path(key)
        with self._locked():
            current = self.get(key)
            if (current.etag if current else None) != etag:
                if current is not None and current.data == data:
                    return current.etag
                raise PreconditionFailed(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._write_temp(data)
            os.replace(tmp, path)
        return _etag(data)

    @_os_errors
    def delete(self, key: str, etag: str | None = None) -> None:
        with self._locked():
            current = self.get(key)
            if current is None:
                return
            if etag is not None and current.etag != etag:
                raise PreconditionFailed(key)
            self._path(key).unlink(missing_ok=True)

    @_os_errors
    def list(self, prefix: str = "") -> list[str]:
        if not self.root.exists():
            return []
        keys = []
        # walk only the prefix's folder: one model's listing must not cost every model's
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        parts = folder.split("/") if folder else []
        start = self.root.joinpath(*parts)
        if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            start = self.root
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = Path(dirpath).relative_to(self.root)
            for name in filenames:
                if name.startswith("."):
                    continue
                key = (rel / name).as_posix() if rel.parts else name
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        """No-op: a folder has no lifecycle policy, so nothing ages and no tag is kept (no
        sidecar files). The key is still checked, like every other method."""
        self._path(key)

    def uri(self, key: str) -> str:
        return str(self._path(key).resolve())

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"artifact folder {self.root} is not writable: {exc}") from exc
