"""Secrets out of text: every configured secret (and each part of one that is secret on
its own) and credential-shaped substrings become '***'. Used by the log redactor and by
every Slack payload; pure string work.

Credential-shaped includes a function key wherever a request names one: the ``code`` query
parameter (``?code=...``, as the Functions host accepts it) and an ``x-functions-key``
header written out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from retrain.config import secret_parts

# Credentials that must never leave, even when not configured here (defence in depth).
_CREDENTIALS = [
    (
        re.compile(
            r"(?i)\b(password|pwd|accountkey|sharedaccesskey|sharedaccesssignature|sig)"
            r"=[^;&\s'\"]+"
        ),
        r"\1=***",
    ),
    (re.compile(r"(://[^/\s:@]+):[^@\s/]+@"), r"\1:***@"),
    (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+"), "***"),
    (re.compile(r"(hooks\.slack\.com/services/)\S+"), r"\1***"),
    (re.compile(r"@Microsoft\.KeyVault\([^)]*\)", re.IGNORECASE), "@Microsoft.KeyVault(***)"),
    (re.compile(r"(?i)([?&](?:code|key|token|access_token)=)[^&#\s'\"]+"), r"\1***"),
    (re.compile(r"(?i)(x-functions-key['\"]?\s*[:=]\s*['\"]?)[^\s'\",;}]+"), r"\1***"),
]


def scrub(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` (a string, or dicts and lists of them) with every secret, the password or
    key inside one, and credential-shaped text replaced by '***'; also a secret's beginning
    left at the end of a string cut short with '…'."""
    return scrub_ordered(value, secret_values(secrets))


def secret_values(secrets: Sequence[str]) -> list[str]:
    """The secrets and the parts of them that are secret on their own, longest first."""
    values: set[str] = set()
    for secret in secrets:
        values |= secret_parts(secret)
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def scrub_ordered(value: Any, ordered: list[str]) -> Any:
    """``scrub`` with ``secret_values`` worked out once (the log redactor calls it per line)."""
    if isinstance(value, dict):
        return {k: scrub_ordered(v, ordered) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_ordered(v, ordered) for v in value]
    if not isinstance(value, str):
        return value
    for secret in ordered:
        value = value.replace(secret, "***")
    for pattern, replacement in _CREDENTIALS:
        value = pattern.sub(replacement, value)
    if value.endswith("…"):
        for secret in ordered:
            for size in range(len(secret) - 1, 3, -1):
                if value[:-1].endswith(secret[:size]):
                    return value[: -1 - size] + "***…"
    return value
