"""Request dependencies: the service and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPBearer

from openqx.core import errors
from openqx.core.access import INSTANCE_HEADER
from openqx.server import permissions
from openqx.server.service import Service
from openqx.store.records import JobRecord, UserRecord

__all__ = [
    "AdminUser",
    "CallerToken",
    "CurrentUser",
    "RequestInstance",
    "ServiceDep",
    "get_service",
    "request_token",
    "visible_job",
]


# Dependencies that neither block nor read the database are ``async def``: FastAPI runs a
# plain ``def`` dependency in the thread pool, a hop per dependency and request.


def service_of(request: Request) -> Service:
    """The service the app was built around (opened by the lifespan)."""
    service: Service = request.app.state.service
    return service


async def get_service(request: Request) -> Service:
    """``service_of`` as a dependency (``async``: no thread hop)."""
    return service_of(request)


ServiceDep = Annotated[Service, Depends(get_service)]


BEARER_AUTH = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="An openqx API token: ``Authorization: Bearer <token>`` (or "
    "``X-Access-Token: <token>``, as the IBM Quantum API accepted).",
)
"""Declares the token in the API description: FastAPI lists this scheme as the security of
every operation that takes the caller (``server.openapi``)."""


def request_token(request: Request) -> str:
    """The token that came as ``Authorization: Bearer`` (or ``X-Access-Token``), not yet
    checked against the users.

    It reads both headers from the request itself: as FastAPI header parameters they cost
    every request 0.2-0.3 ms of their resolution (``benchmarks/README.md``, session 15).

    Raises:
        AuthenticationError: no token, or a malformed ``Authorization`` header.
    """
    authorization = request.headers.get("authorization")
    token = request.headers.get("x-access-token")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise errors.AuthenticationError(
                "Malformed Authorization header; expected 'Bearer <token>'."
            )
        token = value.strip()
    if not token:
        raise errors.AuthenticationError("Missing API token: send 'Authorization: Bearer <token>'.")
    return token


def current_user(
    request: Request, _declared: Annotated[object, Depends(BEARER_AUTH)]
) -> UserRecord:
    """The user whose token came with the request (``request_token``)."""
    return service_of(request).store.user_for_token(request_token(request))


CurrentUser = Annotated[UserRecord, Depends(current_user)]


async def caller_token(request: Request, _declared: Annotated[object, Depends(BEARER_AUTH)]) -> str:
    """``request_token`` as a dependency, for a route that reads the user in its own thread
    hop (``user_for_token``) with its other work: one hop a request instead of two. A
    request without a token is refused before its body is looked at, as with
    ``CurrentUser``; one with an unknown token once its body is valid."""
    return request_token(request)


CallerToken = Annotated[str, Depends(caller_token)]


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
