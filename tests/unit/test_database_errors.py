"""Which database errors a retry can fix, by SQLSTATE and SQLite result code, and messages
without values. (The same errors raised by real PostgreSQL and SQLite:
tests/integration/test_source_errors.py.)"""

from __future__ import annotations

import pytest

from retrain.adapters.database_errors import query_error
from retrain.domain.errors import BackendError, QueryRejectedError, QueryTimeoutError


class PgError(Exception):
    def __init__(self, message: str, pgcode: str | None) -> None:
        super().__init__(message + "\nLINE 1: SELECT 'secret-cell' ...\n        ^")
        self.pgcode = pgcode


class SqliteError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.sqlite_errorcode = code


@pytest.mark.parametrize(
    ("cause", "kind", "text"),
    [
        (PgError('column "plnt" does not exist', "42703"), QueryRejectedError, 'column "plnt"'),
        (PgError("permission denied for table costs", "42501"), QueryRejectedError, "costs"),
        (
            PgError("cannot execute INSERT in a read-only transaction", "25006"),
            QueryRejectedError,
            "",
        ),
        (
            PgError('invalid input syntax for type double precision: "4,2 mm"', "22P02"),
            QueryRejectedError,
            'double precision: "…" (SQLSTATE 22P02)',
        ),
        (PgError("value 'x' is out of range", "22003"), QueryRejectedError, "value '…' is"),
        (PgError("terminating connection due to administrator command", "57P01"), BackendError, ""),
        (PgError("sorry, too many clients already", "53300"), BackendError, ""),
        (PgError("could not serialize access", "40001"), BackendError, ""),
        (PgError("server closed the connection unexpectedly", None), BackendError, ""),
        (PgError("canceling statement due to statement timeout", "57014"), QueryTimeoutError, ""),
        (SqliteError("no such column: plnt", 1), QueryRejectedError, "no such column: plnt"),
        (SqliteError("attempt to write a readonly database", 8), QueryRejectedError, ""),
        (SqliteError('near "FORM": syntax error', 17), QueryRejectedError, "syntax"),
        (SqliteError("database is locked", 5), BackendError, "locked"),
        (SqliteError("database table is locked", 262), BackendError, ""),  # LOCKED_SHAREDCACHE
    ],
)
def test_errors_are_classified_and_keep_no_value(cause, kind, text):
    error = query_error("KLASSE_ROH", cause, timeout_s=30)
    assert type(error) is kind
    assert "KLASSE_ROH" in str(error) and text in str(error)
    assert "secret-cell" not in str(error) and "4,2" not in str(error) and "\n" not in str(error)
