"""retrain: train, version and promote classifiers; run on Azure Functions or the CLI.

Consumers load a model with ``retrain.load_model(name, version=None)``; a long-running
consumer holds ``retrain.ChampionWatcher(name)``, which follows the champion as it moves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrain.watcher import ChampionWatcher

# OpenMP threads (XGBoost, scikit-learn) sleep instead of spinning while they wait: on a
# machine whose cores other jobs share, spinning threads made fits up to 30x slower
# (docs/benchmarks.md). Read when the OpenMP runtime loads, so set before any fit library.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = ["ChampionWatcher", "__version__", "load_model"]
__version__ = "0.1.0"  # the one place; pyproject.toml reads it


def load_model(
    name: str, version: int | None = None, *, env: Mapping[str, str] | None = None
) -> Any:
    """The fitted pipeline of ``name``'s champion (or of ``version``), from the configured
    artifact store. Its size and sha256 are verified against the model card and only
    trusted types are loaded. The pipeline takes the query's raw feature columns and
    offers ``predict``, ``predict_proba`` and ``classes_``."""
    from retrain import bootstrap
    from retrain.service.model_repository import ModelRepository

    settings = bootstrap.load_settings(env)
    models_store, _ = bootstrap.object_stores(settings)
    pipeline, _card = ModelRepository(models_store).load(name, version)
    return pipeline


def __getattr__(name: str) -> Any:
    """``ChampionWatcher`` on first use, so ``import retrain`` stays light."""
    if name == "ChampionWatcher":
        from retrain.watcher import ChampionWatcher

        return ChampionWatcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
