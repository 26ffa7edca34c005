"""One root error and a small tree. Entry points map these to exit codes / HTTP status.

RetrainError
├── ConfigError                 settings missing or malformed (lists every problem)
│   └── InputFileError          a file given to a command is unusable (says what in it)
├── NotFoundError               a run, version or champion that does not exist
│   └── UnknownModelError       a model name not in the registry (lists the known ones)
├── ConflictError               optimistic concurrency lost / duplicate work
│   ├── RunAlreadyActiveError   the model already has a queued or running run
│   ├── RateLimitedError        too many starts of a model or by one caller in the window
│   ├── AttemptSupersededError  another attempt took the run over: this one stops, writing nothing
│   └── ApprovalRefusedError    an approval or rejection that cannot apply: decided already,
│                               outdated (a newer version, a moved champion), expired, or
│                               a version that awaits none
├── CorruptStateError           a stored state object (alias, run record, batch, card) is
│                               unreadable, or a card or artifact is not the version asked for
├── DataValidationError         training rows unusable: the run stops before fitting
├── ArtifactIntegrityError      stored artifact does not match its card or is untrusted
├── ChampionUnusableError       the champion's model failed on today's test rows (a column
│                               it reads is gone, its model raises): the gate goes without it
├── PromotionRefusedError       a champion move was refused (target unusable)
└── BackendError                a database / storage / notifier backend failed (retried)
    ├── QueryTimeoutError       the training query ran longer than allowed
    └── QueryRejectedError      the database refused the training query for good (unknown
                                column or table, syntax, permission, a write in the read-only
                                session, a value its SQL cannot convert): not retried
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RetrainError(Exception):
    """Root of every error this product raises on purpose."""

    code = "retrain_error"


class ConfigError(RetrainError):
    code = "config_error"

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "invalid settings: " + "; ".join(self.problems) if self.problems else "invalid settings"
        )


class InputFileError(ConfigError):
    """A file given to a command (``retrain feedback``'s CSV) that cannot be used: a usage
    problem like a setting's, worded as the file's (not "invalid settings")."""

    code = "input_file"

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        RetrainError.__init__(self, "; ".join(self.problems))


class NotFoundError(RetrainError):
    code = "not_found"


class UnknownModelError(NotFoundError):
    code = "unknown_model"

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        self.suggestion = closest(name[:100], self.known)
        hint = f" (did you mean {self.suggestion}?)" if self.suggestion else ""
        super().__init__(
            f"unknown model {name[:100]!r}{hint}; known models: {', '.join(self.known) or '(none)'}"
        )


def closest(name: str, known: list[str]) -> str | None:
    """The known name a typo most likely meant (case-insensitive), or None."""
    by_upper = {k.upper(): k for k in known}
    match = difflib.get_close_matches(name.upper(), list(by_upper), n=1, cutoff=0.6)
    return by_upper[match[0]] if match else None


class ConflictError(RetrainError):
    code = "conflict"


class RunAlreadyActiveError(ConflictError):
    code = "run_already_active"

    def __init__(self, model: str, run_id: str) -> None:
        self.model = model
        self.run_id = run_id
        super().__init__(f"model {model} already has an active run: {run_id}")


class RateLimitedError(ConflictError):
    """Too many starts within the window (service/rate_limit.py): ``retry_after_s`` says
    when one more fits. ``model`` is None when the caller, not a model, is over its limit."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int, model: str | None = None) -> None:
        self.retry_after_s = retry_after_s
        self.model = model
        super().__init__(message)


class AttemptSupersededError(ConflictError):
    code = "attempt_superseded"

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id} was taken over by another attempt; this one stops")


class ApprovalRefusedError(ConflictError):
    """A decision on a version awaiting approval that changes nothing (service/approval.py).
    ``kind``: ``decided``, ``outdated``, ``expired`` or ``not_awaiting``; ``decision`` is the
    stored decision when ``kind`` is ``decided``."""

    code = "approval_refused"

    def __init__(self, kind: str, message: str, decision: dict | None = None) -> None:
        self.kind = kind
        self.decision = decision
        super().__init__(message)


class CorruptStateError(RetrainError):
    """A stored object that must be JSON of a known shape is not. ``key`` names it; the
    message says what it is and how to repair it, never its contents."""

    code = "corrupt_state"

    def __init__(
        self, what: str, key: str, problem: str, repair: str = "", *, verdict: str = "is unreadable"
    ) -> None:
        self.key = key
        super().__init__(f"{what} {key} {verdict} ({problem})" + (f"; {repair}" if repair else ""))


class DataValidationError(RetrainError):
    code = "data_validation_failed"

    def __init__(self, message: str, findings: list[dict] | None = None) -> None:
        self.findings = findings or []
        super().__init__(message)


class ResourceLimitError(RetrainError):
    """A run would need more memory than its instance has (training/memory.py): it stops
    before fitting, naming what to change; no retry can help."""

    code = "resource_limit"


class ArtifactIntegrityError(RetrainError):
    code = "artifact_integrity"


class ChampionUnusableError(RetrainError):
    code = "champion_unusable"


class PromotionRefusedError(RetrainError):
    code = "promotion_refused"


class BackendError(RetrainError):
    code = "backend_error"


class QueryTimeoutError(BackendError):
    code = "query_timeout"


class QueryRejectedError(BackendError):
    """The database answered, and no retry can change its answer: the query, the schema or
    the grants must change first. The message names the model and the database's message
    with quoted values redacted."""

    code = "query_rejected"
