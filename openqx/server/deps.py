"""Request dependencies: the service and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from openqx.core import errors
from openqx.server.service import Service
from openqx.store.records import JobRecord, UserRecord

__all__ = ["AdminUser", "CurrentUser", "ServiceDep", "get_service", "visible_job"]


def get_service(request: Request) -> Service:
    """The service the app was built around (opened by the lifespan)."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def current_user(
    service: ServiceDep,
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
    return service.store.user_for_token(token)


CurrentUser = Annotated[UserRecord, Depends(current_user)]


def admin_user(user: CurrentUser) -> UserRecord:
    """The current user, who must be an admin."""
    if not user.is_admin:
        raise errors.PermissionDeniedError("This operation needs an admin token.")
    return user


AdminUser = Annotated[UserRecord, Depends(admin_user)]


def visible_job(service: Service, user: UserRecord, job_id: str) -> JobRecord:
    """A job the user may see; others' jobs look absent (their existence is not leaked)."""
    record = service.store.get_job(job_id)
    if record.owner_id != user.id and not user.is_admin:
        raise errors.JobNotFoundError(job_id)
    return record
