"""The registered classifiers: one small module each. Add yours to CLASSIFIERS."""

from __future__ import annotations

from retrain.classifiers import artfam_roh, klasse_core, klasse_roh
from retrain.domain.specs import Registry

CLASSIFIERS = [artfam_roh.SPEC, klasse_roh.SPEC, klasse_core.SPEC]


def default_registry() -> Registry:
    return Registry(CLASSIFIERS)
