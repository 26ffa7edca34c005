"""A stored version proves it is the one asked for (issue 28).

Its card names its model, its version and its artifact's key; its artifact carries, inside
the skops file, the identity it was published with (model, version, run id;
training/serialize.py), which must name the card's. The model repository checks the card on
every read and the artifact before every load: a folder holding another version's or another
model's card or artifact is a CorruptStateError naming the object. An artifact published
before identities existed has none; its card is still checked."""

from __future__ import annotations

from typing import Any

from retrain.domain.errors import CorruptStateError
from retrain.training import serialize


def _shown(value: Any) -> str:
    """A stored value in an error message: short, and only if it is a plain name or number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isprintable():
        return repr(value[:40])
    return f"a {type(value).__name__}"


def card_problem(card: dict[str, Any], model: str, version: int, artifact_key: str) -> str | None:
    """Why ``card`` is not the card of ``model`` v``version``, or None if it is."""
    named = card.get("version")
    if card.get("model") != model:
        return f"it names the model {_shown(card.get('model'))}, not {model}"
    if not isinstance(named, int) or isinstance(named, bool):
        return f"its version is {_shown(named)}, not the number {version}"
    if named != version:
        return f"it names version {named}, not {version}"
    if card["artifact"]["path"] != artifact_key:
        return f"its artifact path is not {artifact_key}"
    return None


def stamped(model: str, version: int, artifact: bytes, card: dict[str, Any]) -> bytes:
    """The artifact as stored for ``model`` v``version``: with its identity inside."""
    run_id = card.get("run_id")
    return serialize.with_identity(
        artifact, model, version, run_id if isinstance(run_id, str) else None
    )


def check_artifact(data: bytes, key: str, card: dict[str, Any]) -> None:
    """The identity inside the artifact against its (already checked) card. An artifact
    published before identities existed has none: its card check is what holds."""
    verdict = "is not this version's artifact"
    repair = "artifacts are written once: restore the one this version was published with"
    try:
        found = serialize.identity_of(data)
    except ValueError as exc:
        raise CorruptStateError("artifact", key, str(exc), repair, verdict=verdict) from None
    if found is None:
        return
    run_id = card.get("run_id")
    expected = {
        "model": card["model"],
        "version": card["version"],
        "run_id": run_id if isinstance(run_id, str) else None,
    }
    wrong = [name for name in serialize.IDENTITY_FIELDS if found[name] != expected[name]]
    if wrong:
        problem = (
            f"it was published as {_shown(found['model'])} v{found['version']}; "
            f"its {' and '.join(wrong)} differ from its card's"
        )
        raise CorruptStateError("artifact", key, problem, repair, verdict=verdict)
