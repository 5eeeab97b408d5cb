"""The one place where SQLAlchemy errors become ``openqx.core.errors`` (chained).

sqlalchemy.exc.IntegrityError               → InvalidInputError (duplicate, unknown owner)
sqlalchemy.exc.DataError, bad regexp        → InvalidFilterError
sqlalchemy.exc.DataError, other             → InvalidInputError
any other sqlalchemy.exc.SQLAlchemyError    → ServiceError (code "internal")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

from openqx.core.errors import InvalidFilterError, InvalidInputError, ServiceError

__all__ = ["wrap_exceptions"]


def _message(error: exc.SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's statement dump."""
    orig = getattr(error, "orig", None)
    return str(orig if orig is not None else error).strip().splitlines()[0]


@contextmanager
def wrap_exceptions(integrity_message: str | None = None) -> Iterator[None]:
    """Translate SQLAlchemy errors raised in the block to core errors.

    Args:
        integrity_message: message for an ``IntegrityError`` (default: the driver's).

    Raises:
        InvalidInputError: a constraint was violated or a value was rejected.
        InvalidFilterError: the database rejected a regular expression.
        ServiceError: any other database failure.
    """
    try:
        yield
    except exc.IntegrityError as error:
        raise InvalidInputError(integrity_message or _message(error)) from error
    except exc.DataError as error:
        message = _message(error)
        if "regular expression" in message.lower():
            raise InvalidFilterError(f"Invalid regular expression: {message}") from error
        raise InvalidInputError(message) from error
    except exc.SQLAlchemyError as error:
        raise ServiceError(f"Database error: {_message(error)}") from error
