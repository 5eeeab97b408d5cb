"""``/version`` and ``/account`` (the administration API is ``routes.admin``)."""

from __future__ import annotations

from fastapi import APIRouter

from openqx import __version__
from openqx.core.wire import AccountInfo, VersionInfo
from openqx.server.deps import CurrentUser

__all__ = ["router"]

router = APIRouter()


@router.get("/version", response_model=VersionInfo)
def version() -> VersionInfo:
    """Service name and version (no token needed)."""
    return VersionInfo(version=__version__)


@router.get("/account", response_model=AccountInfo)
def account(user: CurrentUser) -> AccountInfo:
    """The calling user."""
    return AccountInfo(user=user.name, is_admin=user.is_admin, instances=list(user.instances))
