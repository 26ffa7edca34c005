"""A model handle for long-running consumers: it serves a model's champion and follows the
champion alias when it moves.

``retrain.ChampionWatcher("KLASSE_ROH")`` loads the champion like ``retrain.load_model``
(size and sha256 checked against the card, trusted types only). Each ``predict`` or
``predict_proba`` first checks the alias, at most once every ``every_s`` seconds, on the
calling thread: one small read of ``<MODEL>/champion.json`` whose ETag is compared with the
one it last loaded from. When the champion has moved, the new version is loaded and
verified completely, then swapped in with one reference assignment: a call in progress
finishes on the pipeline it started with, no call ever sees a half-loaded model. When the
new version cannot be read, verified or loaded, the old one keeps serving, a warning names
the model and both versions, and the next check tries again.

While one thread checks (and perhaps loads for seconds), the others keep serving the
current model instead of waiting for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loguru import logger

from retrain.domain.errors import RetrainError

if TYPE_CHECKING:
    from retrain.domain.ports import ObjectStore

DEFAULT_EVERY_S = 60.0


@dataclass(frozen=True)
class _Serving:
    """What serves now: replaced as a whole, never changed in place."""

    pipeline: Any
    card: dict[str, Any]
    version: int
    alias_etag: str


class ChampionWatcher:
    """Serves ``name``'s champion from the configured artifact store (``env``, as for
    ``load_model``), or from ``store`` when given; follows the champion alias at most every
    ``every_s`` seconds of ``clock``. Raises what ``load_model`` raises when the model has no
    champion or it cannot be loaded. Safe to share between threads."""

    def __init__(
        self,
        name: str,
        *,
        every_s: float = DEFAULT_EVERY_S,
        env: Mapping[str, str] | None = None,
        store: ObjectStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from retrain.service.model_repository import ModelRepository

        if every_s < 0:
            raise ValueError(f"every_s must be 0 or more, not {every_s}")
        if store is None:
            from retrain import bootstrap

            store, _ = bootstrap.object_stores(bootstrap.load_settings(env))
        self.name = name
        self.every_s = float(every_s)
        self._repo = ModelRepository(store)
        self._clock = clock
        self._lock = threading.Lock()  # one check at a time
        version, etag = self._repo.serving(name)
        pipeline, card = self._repo.load(name, version)
        self._serving = _Serving(pipeline, card, version, etag)
        self._next_check = clock() + self.every_s

    # serving -------------------------------------------------------------------------
    def predict(self, X: Any) -> Any:
        return self._current().pipeline.predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self._current().pipeline.predict_proba(X)

    @property
    def classes_(self) -> Any:
        """The serving model's classes. Between two calls the champion may move: to pair
        ``predict_proba``'s columns with their classes for certain, take ``p = w.pipeline``
        once and use ``p.predict_proba(X)`` and ``p.classes_``."""
        return self._current().pipeline.classes_

    @property
    def version(self) -> int:
        """The version serving now (does not check the alias)."""
        return self._serving.version

    @property
    def card(self) -> dict[str, Any]:
        """The model card of the version serving now (does not check the alias)."""
        return self._serving.card

    @property
    def pipeline(self) -> Any:
        """The pipeline serving now (does not check the alias). Keep it only for one call:
        it is not replaced when the champion moves."""
        return self._serving.pipeline

    def __repr__(self) -> str:
        return f"ChampionWatcher({self.name!r}, version={self.version}, every_s={self.every_s})"

    # following the alias -------------------------------------------------------------
    def refresh(self) -> bool:
        """Check the alias now (waiting for a check in progress); True if a new version was
        swapped in. Never raises for a champion that cannot be loaded: see the class."""
        with self._lock:
            return self._check()

    def _current(self) -> _Serving:
        """The serving model, after a check if one is due. A check already running on
        another thread is not waited for."""
        if self._clock() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                if self._clock() >= self._next_check:
                    self._check()
            finally:
                self._lock.release()
        return self._serving

    def _check(self) -> bool:
        """Read the alias; load, verify and swap in a moved champion. Caller holds the lock."""
        try:
            return self._follow(self._serving)
        finally:
            self._next_check = self._clock() + self.every_s

    def _follow(self, serving: _Serving) -> bool:
        try:
            champion = self._repo.champion(self.name)
        except Exception as exc:  # anything: the old model must keep serving
            self._keep(serving, f"its champion alias could not be read ({_describe(exc)})")
            return False
        if champion is None or champion.version is None:
            self._keep(serving, "its champion alias is gone")
            return False
        if champion.etag == serving.alias_etag:
            return False
        version = champion.version
        if version == serving.version:  # the alias was rewritten, the version is the same
            self._serving = _Serving(serving.pipeline, serving.card, version, champion.etag)
            return False
        try:
            pipeline, card = self._repo.load(self.name, version)
        except Exception as exc:
            self._keep(serving, f"its new champion v{version} failed to load ({_describe(exc)})")
            return False
        self._serving = _Serving(pipeline, card, version, champion.etag)  # the swap
        logger.info(
            "{}: the champion moved; serving v{} (was v{})", self.name, version, serving.version
        )
        return True

    def _keep(self, serving: _Serving, why: str) -> None:
        logger.warning(
            "{}: {}; still serving v{}, trying again in {:g} s",
            self.name,
            why,
            serving.version,
            self.every_s,
        )


def _describe(exc: Exception) -> str:
    """Our errors name the object and never a credential; of others only the type is told
    (an SDK's message may carry a URL with a signature)."""
    if isinstance(exc, RetrainError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__
