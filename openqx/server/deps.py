"""Request dependencies: the service and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from openqx.core import errors
from openqx.core.access import INSTANCE_HEADER
from openqx.server import permissions
from openqx.server.service import Service
from openqx.store.records import JobRecord, UserRecord

__all__ = [
    "AdminUser",
    "CurrentUser",
    "RequestInstance",
    "ServiceDep",
    "get_service",
    "visible_job",
]


# Dependencies that neither block nor read the database are ``async def``: FastAPI runs a
# plain ``def`` dependency in the thread pool, a hop per dependency and request.


async def get_service(request: Request) -> Service:
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


async def admin_user(user: CurrentUser) -> UserRecord:
    """The current user, who must be a server administrator."""
    permissions.require_server_admin(user)
    return user


AdminUser = Annotated[UserRecord, Depends(admin_user)]


async def request_instance(
    user: CurrentUser,
    instance: Annotated[str | None, Header(alias=INSTANCE_HEADER)] = None,
) -> str:
    """The instance the request acts through (``permissions.request_instance``)."""
    return permissions.request_instance(user, instance)


RequestInstance = Annotated[str, Depends(request_instance)]


def visible_job(service: Service, user: UserRecord, job_id: str) -> JobRecord:
    """A job the user may read; others look absent (``permissions.readable_job``)."""
    return permissions.readable_job(service, user, job_id)
