"""The one place where SQLAlchemy and driver errors become ``openqx.core.errors`` (chained).

sqlalchemy.exc.IntegrityError                    → InvalidInputError (duplicate, unknown owner)
sqlalchemy.exc.DataError, bad regexp             → InvalidFilterError
sqlalchemy.exc.DataError, other                  → InvalidInputError
OverflowError, UnicodeEncodeError (driver binds) → InvalidInputError
statement over its time budget                   → StatementTimeoutError
any other sqlalchemy.exc.SQLAlchemyError         → ServiceError (code "internal")

The database's own message never reaches the user (it names tables, types and values of
ours, e.g. PostgreSQL's "bigint out of range"): each case gets a message of ours, and the
original goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

from openqx.core.errors import (
    InvalidFilterError,
    InvalidInputError,
    ServiceError,
    StatementTimeoutError,
)

__all__ = ["wrap_exceptions"]

logger = logging.getLogger(__name__)

_QUERY_CANCELED = "57014"  # PostgreSQL SQLSTATE of a statement stopped by statement_timeout
_SQLITE_INTERRUPTED = "interrupted"  # sqlite3's message when the progress handler stops it

OUT_OF_RANGE_MESSAGE = (
    "A value is outside what the database can store (a number too large, a date out of "
    "range or text it cannot hold); check the values sent."
)
TIMEOUT_MESSAGE = (
    "The database stopped this request because it ran past its time budget; narrow it "
    "(fewer or simpler filters, a smaller page) and try again."
)


def _driver_message(error: exc.SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's statement dump (for the log only)."""
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _timed_out(error: exc.SQLAlchemyError) -> bool:
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) == _QUERY_CANCELED:
        return True
    return str(orig).strip() == _SQLITE_INTERRUPTED


@contextmanager
def wrap_exceptions(integrity_message: str | None = None) -> Iterator[None]:
    """Translate database errors raised in the block to core errors.

    Args:
        integrity_message: message for an ``IntegrityError`` (default: a generic one).

    Raises:
        InvalidInputError: a constraint was violated or a value was rejected.
        InvalidFilterError: the database rejected a regular expression.
        StatementTimeoutError: a statement ran past its time budget.
        ServiceError: any other database failure.
    """
    try:
        yield
    except exc.IntegrityError as error:
        logger.info("integrity error: %s", _driver_message(error), extra={"action": "db_error"})
        raise InvalidInputError(
            integrity_message or "The change conflicts with data already stored."
        ) from error
    except exc.DataError as error:
        message = _driver_message(error)
        logger.info("data error: %s", message, extra={"action": "db_error"})
        if "regular expression" in message.lower():
            raise InvalidFilterError(
                "The database could not run this regular expression; use RE2 syntax."
            ) from error
        raise InvalidInputError(OUT_OF_RANGE_MESSAGE) from error
    except (OverflowError, UnicodeEncodeError) as error:
        # sqlite3 raises these itself while binding a value (an int over 64 bits, text
        # with an unpaired surrogate); SQLAlchemy lets them through unwrapped.
        logger.info("value not bound: %s", error, extra={"action": "db_error"})
        raise InvalidInputError(OUT_OF_RANGE_MESSAGE) from error
    except exc.SQLAlchemyError as error:
        if _timed_out(error):
            logger.warning("statement timed out", extra={"action": "statement_timeout"})
            raise StatementTimeoutError(TIMEOUT_MESSAGE) from error
        logger.error("database error: %s", _driver_message(error), extra={"action": "db_error"})
        raise ServiceError("Database error; see the server log.") from error
