"""Which errors of the training database a retry can fix, and their messages without values.

Permanent (QueryRejectedError, the run fails on its first attempt): the database answered
and will answer the same next time — an unknown column or table, a syntax error, a missing
permission, a write in the read-only session, a value its SQL cannot convert. Everything
else (the connection, the server going down, resources, locks, timeouts) is a BackendError,
which the queue retries.

Messages keep the database's own words but never a value from the rows: quoted values are
redacted (``invalid input syntax for type double precision: "…"``); identifiers stay where
PostgreSQL quotes them (``column "plnt" does not exist``)."""

from __future__ import annotations

import re

from retrain.domain.errors import BackendError, QueryRejectedError, QueryTimeoutError

# PostgreSQL SQLSTATE classes (and codes) no retry fixes. Classes 08 (connection), 40
# (serialization, deadlock), 53 (resources), 55 (locks), 57 (shutdown, cancel), 58 and XX
# are left to the retries.
PERMANENT_CLASSES = {"0A", "22", "26", "2F", "34", "38", "39", "3D", "3F", "42", "44", "54"}
PERMANENT_CODES = {"25006"}  # read_only_sql_transaction
IDENTIFIER_CLASSES = {"0A", "25", "3D", "3F", "42"}  # their messages quote names, not values
# SQLite primary result codes no retry fixes: ERROR (no such table/column, syntax),
# PERM, READONLY (a write under query_only), TOOBIG, CONSTRAINT, MISMATCH, AUTH, RANGE.
# BUSY and LOCKED ("database is locked"), IOERR, CANTOPEN and the rest are retried. The code
# can be stale (a syntax error seen reported as SCHEMA, 17): the message decides then.
SQLITE_PERMANENT = {1, 3, 8, 18, 19, 20, 23, 25}
SQLITE_TRANSIENT = {5, 6, 7, 10, 13, 14, 15}  # BUSY LOCKED NOMEM IOERR FULL CANTOPEN PROTOCOL
SQLITE_REFUSAL = re.compile(
    r"no such (table|column|function)|syntax error|readonly database|not authorized"
    r"|ambiguous column name|incomplete input|misuse of"
)

_DOUBLE = re.compile(r'"(?:[^"\\]|\\.|"")*"')
_SINGLE = re.compile(r"'(?:[^'\\]|\\.|'')*'")


def query_error(model: str, exc: BaseException, timeout_s: int | None = None) -> BackendError:
    """The product's error for a failed training query of ``model``."""
    cause = getattr(exc, "orig", None) or exc
    text = describe(cause)
    if "statement timeout" in text:
        return QueryTimeoutError(
            f"training query of {model} ran longer than {timeout_s} s "
            "(TRAINING_QUERY_TIMEOUT_S) and was cancelled"
        )
    if is_permanent(exc):
        return QueryRejectedError(f"training query of {model} was rejected by the database: {text}")
    return BackendError(f"training query of {model} failed: {text}")


def is_permanent(exc: BaseException) -> bool:
    cause = getattr(exc, "orig", None) or exc
    code = getattr(cause, "pgcode", None)
    if isinstance(code, str) and code:
        return code[:2] in PERMANENT_CLASSES or code in PERMANENT_CODES
    sqlite_code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        primary = sqlite_code & 0xFF
        if primary in SQLITE_TRANSIENT:
            return False
        return primary in SQLITE_PERMANENT or bool(SQLITE_REFUSAL.search(str(cause)))
    from sqlalchemy import exc as sa_exc

    # SQLAlchemy refused the statement before sending it (a bind parameter nobody provides)
    return isinstance(exc, sa_exc.StatementError) and not isinstance(exc, sa_exc.DBAPIError)


def describe(cause: BaseException | None) -> str:
    """The driver's primary message (no SQL, parameters or row data), with its SQLSTATE."""
    if cause is None:
        return "unknown error"
    primary = getattr(getattr(cause, "diag", None), "message_primary", None)
    lines = (primary or str(cause)).strip().splitlines()
    text = lines[0].strip() if lines else type(cause).__name__
    code = getattr(cause, "pgcode", None)
    return f"{redact(text, code)} (SQLSTATE {code})" if code else redact(text, code)


def redact(text: str, sqlstate: str | None = None) -> str:
    """``text`` with quoted values replaced by '…'. Single quotes always hold values;
    double quotes hold names in PostgreSQL's syntax and access errors (and in SQLite's),
    values in its data errors."""
    text = _SINGLE.sub("'…'", text)
    if sqlstate and sqlstate[:2] not in IDENTIFIER_CLASSES:
        text = _DOUBLE.sub('"…"', text)
    return text
