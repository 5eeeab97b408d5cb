"""Request dependencies: the service state and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from openqx.core import errors
from openqx.server.state import ServiceState
from openqx.store.records import JobRecord, UserRecord

__all__ = ["AdminUser", "CurrentUser", "State", "get_state", "visible_job"]


def get_state(request: Request) -> ServiceState:
    """The service state opened by the lifespan."""
    state: ServiceState = request.app.state.service
    return state


State = Annotated[ServiceState, Depends(get_state)]


def current_user(
    state: State,
    authorization: Annotated[str | None, Header()] = None,
    x_access_token: Annotated[str | None, Header()] = None,
) -> UserRecord:
    """The user whose token came as ``Authorization: Bearer`` (or ``X-Access-Token``)."""
    token = x_access_token
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise errors.AuthenticationError(
                "Malformed Authorization header; expected 'Bearer <token>'."
            )
        token = value.strip()
    if not token:
        raise errors.AuthenticationError("Missing API token: send 'Authorization: Bearer <token>'.")
    return state.store.user_for_token(token)


CurrentUser = Annotated[UserRecord, Depends(current_user)]


def admin_user(user: CurrentUser) -> UserRecord:
    """The current user, who must be an admin."""
    if not user.is_admin:
        raise errors.PermissionDeniedError("This operation needs an admin token.")
    return user


AdminUser = Annotated[UserRecord, Depends(admin_user)]


def visible_job(state: ServiceState, user: UserRecord, job_id: str) -> JobRecord:
    """A job the user may see; others' jobs look absent (their existence is not leaked)."""
    record = state.store.get_job(job_id)
    if record.owner_id != user.id and not user.is_admin:
        raise errors.JobNotFoundError(job_id)
    return record
