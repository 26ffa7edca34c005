"""Artifacts as bytes: skops format, loaded only with a fixed list of trusted types.

A published artifact also carries its identity: ``retrain-identity.json`` inside the skops
zip file (model, version, run id), written next to skops' own ``schema.json`` and ignored by
skops' loader. The model repository compares it with the card before loading, so an artifact
copied in from another version or model is refused even when its card was edited to match
its size and sha256. Artifacts published before the identity existed have none: their card
is still checked against the version asked for."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from retrain.domain.errors import ArtifactIntegrityError

# Types beyond skops' built-in safe set that our pipelines contain. Anything else in an
# artifact (a pickled function, an unknown class) makes the load fail.
TRUSTED_TYPES = [
    "numpy.dtype",
    "retrain.training.estimators.EncodedLabelClassifier",
    "retrain.training.features.TextCategories",
    "retrain.training.text.StoredZeros",
    "retrain.training.text.TextTfidf",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
]
IDENTITY = "retrain-identity.json"
IDENTITY_FIELDS = ("model", "version", "run_id")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # a fixed time stamp: the same identity gives the same bytes


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dumps(model: Any) -> bytes:
    import skops.io as sio

    try:
        data = sio.dumps(model)
    except RecursionError:  # skops walks the object graph and cannot store a cycle
        raise ArtifactIntegrityError(
            "the fitted model refers to itself, which the skops format cannot store (e.g. "
            "scikit-learn's HistGradientBoosting after early stopping on a scoring other than "
            "'loss'); train it with an estimator set-up that keeps no such reference"
        ) from None
    untrusted = set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES)
    if untrusted:  # we would not be able to load it back: fail before publishing
        raise ArtifactIntegrityError(
            f"model contains types outside the trusted list: {', '.join(sorted(untrusted))}; "
            "add them to retrain.training.serialize.TRUSTED_TYPES after review"
        )
    return data


def with_identity(data: bytes, model: str, version: int, run_id: str | None) -> bytes:
    """``data`` (a skops file) with its identity inside; the same input gives the same bytes
    (a retried publish writes what its first attempt wrote). Bytes that are no zip file
    cannot be loaded as an artifact anyway and are returned as they are."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return data
    identity = json.dumps(
        {"model": model, "version": version, "run_id": run_id}, sort_keys=True
    ).encode()
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer) as archive:
        present = IDENTITY in archive.namelist()
    if present:  # written again for another version: copy every other member
        buffer = io.BytesIO()
        with (
            zipfile.ZipFile(io.BytesIO(data)) as source,
            zipfile.ZipFile(buffer, "w") as target,
        ):
            for info in source.infolist():
                if info.filename != IDENTITY:
                    target.writestr(info, source.read(info))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(zipfile.ZipInfo(IDENTITY, date_time=_EPOCH), identity)
    return buffer.getvalue()


def identity_of(data: bytes) -> dict[str, Any] | None:
    """The identity inside an artifact: None if it has none (published before identities
    existed); ValueError if it has one that is not a model, a version and a run id."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if IDENTITY not in archive.namelist():
                return None
            raw = archive.read(IDENTITY)
    except (zipfile.BadZipFile, OSError, EOFError):
        return None  # not a skops file: the trusted load names that
    try:
        found = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError("its identity is not JSON") from None
    if not isinstance(found, dict) or set(found) != set(IDENTITY_FIELDS):
        raise ValueError("its identity is not a model, a version and a run id")
    model, version, run_id = (found[k] for k in IDENTITY_FIELDS)
    if not (
        isinstance(model, str)
        and isinstance(version, int)
        and not isinstance(version, bool)
        and (run_id is None or isinstance(run_id, str))
    ):
        raise ValueError("its identity has values of the wrong type")
    return found


def verify(data: bytes, expected_sha256: str, expected_size: int | None = None) -> None:
    """Size and sha256 against the card; ArtifactIntegrityError if either differs."""
    if expected_size is not None and len(data) != expected_size:
        raise ArtifactIntegrityError(
            f"artifact is {len(data)} bytes, its card says {expected_size}: truncated or replaced"
        )
    actual = sha256(data)
    if actual != expected_sha256:
        raise ArtifactIntegrityError(
            f"artifact sha256 {actual[:12]}… does not match its card ({expected_sha256[:12]}…): "
            "refusing to load a modified artifact"
        )


def load_trusted(data: bytes) -> Any:
    """Load with the trusted list only (call ``verify`` first)."""
    import skops.io as sio

    try:
        return sio.loads(data, trusted=TRUSTED_TYPES)
    except Exception as exc:  # skops raises several types for untrusted or corrupt input
        raise ArtifactIntegrityError(f"artifact could not be loaded safely: {exc}") from exc


def loads(data: bytes, expected_sha256: str, expected_size: int | None = None) -> Any:
    """Verify size and sha256 against the card, then load with the trusted list only."""
    verify(data, expected_sha256, expected_size)
    return load_trusted(data)
