"""Artifacts as bytes: skops format, loaded only with a fixed list of trusted types."""

from __future__ import annotations

import hashlib
from typing import Any

from retrain.domain.errors import ArtifactIntegrityError

# Types beyond skops' built-in safe set that our pipelines contain. Anything else in an
# artifact (a pickled function, an unknown class) makes the load fail.
TRUSTED_TYPES = [
    "numpy.dtype",
    "retrain.training.estimators.EncodedLabelClassifier",
    "retrain.training.text.StoredZeros",
    "retrain.training.text.TextTfidf",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dumps(model: Any) -> bytes:
    import skops.io as sio

    data = sio.dumps(model)
    untrusted = set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES)
    if untrusted:  # we would not be able to load it back: fail before publishing
        raise ArtifactIntegrityError(
            f"model contains types outside the trusted list: {', '.join(sorted(untrusted))}; "
            "add them to retrain.training.serialize.TRUSTED_TYPES after review"
        )
    return data


def loads(data: bytes, expected_sha256: str, expected_size: int | None = None) -> Any:
    """Verify size and sha256 against the card, then load with the trusted list only."""
    import skops.io as sio

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
    try:
        return sio.loads(data, trusted=TRUSTED_TYPES)
    except Exception as exc:  # skops raises several types for untrusted or corrupt input
        raise ArtifactIntegrityError(f"artifact could not be loaded safely: {exc}") from exc
