"""``/version``, ``/account`` and the admin endpoints."""

from __future__ import annotations

from fastapi import APIRouter

from openqx import __version__
from openqx.core.ids import new_token
from openqx.core.wire import (
    AccountInfo,
    JobLimitInfo,
    JobLimitUpdate,
    UserCreate,
    UserCreated,
    VersionInfo,
)
from openqx.server.deps import AdminUser, CurrentUser, ServiceDep

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


@router.post("/admin/users", response_model=UserCreated, status_code=201)
def create_user(body: UserCreate, service: ServiceDep, admin: AdminUser) -> UserCreated:
    """Create a user and return its token (shown once)."""
    token = body.token or new_token()
    user = service.store.create_user(
        body.name, token, is_admin=body.is_admin, instances=body.instances
    )
    return UserCreated(
        name=user.name, token=token, instances=list(user.instances), is_admin=user.is_admin
    )


@router.get("/admin/users", response_model=list[AccountInfo])
def list_users(service: ServiceDep, admin: AdminUser) -> list[AccountInfo]:
    """Every user."""
    return [
        AccountInfo(user=u.name, is_admin=u.is_admin, instances=list(u.instances))
        for u in service.store.list_users()
    ]


@router.put("/admin/backends/{name}/job_limit", response_model=JobLimitInfo)
def set_job_limit(
    name: str, body: JobLimitUpdate, service: ServiceDep, admin: AdminUser
) -> JobLimitInfo:
    """Set the per-user active-job limit of a backend."""
    service.catalog.get(name)
    service.store.set_backend_job_limit(name, body.maximum_jobs)
    return JobLimitInfo(
        maximum_jobs=service.job_limit(name), active_jobs=service.store.count_active(admin.id, name)
    )
