"""Instances (``hub/group/project``): the scope jobs are filed under."""

from __future__ import annotations

__all__ = [
    "DEFAULT_INSTANCE",
    "INSTANCE_PARTS",
    "check_instance_part",
    "matching_instances",
    "split_instance",
]

DEFAULT_INSTANCE = "openqx/main/default"
"""The instance of the first admin, and of users created without one."""

INSTANCE_PARTS = ("hub", "group", "project")
"""The parts of an instance name, in order."""


def check_instance_part(value: object, part: str) -> str:
    """Check one part of an instance (a hub, group or project name).

    Args:
        value: the name.
        part: ``"hub"``, ``"group"`` or ``"project"`` (for the message).

    Returns:
        The name.

    Raises:
        ValueError: not a non-empty string, or holding ``/`` or surrounding spaces.
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{part} needs to be a non-empty string, not {value!r}.")
    if "/" in value or value != value.strip():
        raise ValueError(f"{part} {value!r} must not contain '/' or surrounding spaces.")
    return value


def split_instance(instance: object) -> tuple[str, str, str]:
    """Split ``"hub/group/project"`` into its three parts.

    Raises:
        ValueError: not three valid parts separated by ``/``.
    """
    if not isinstance(instance, str) or instance.count("/") != 2:
        raise ValueError(f"Instance {instance!r} is not of the form 'hub/group/project'.")
    hub, group, project = (
        check_instance_part(value, part)
        for value, part in zip(instance.split("/"), INSTANCE_PARTS, strict=True)
    )
    return hub, group, project


def matching_instances(
    instances: list[str],
    hub: str | None = None,
    group: str | None = None,
    project: str | None = None,
) -> list[str]:
    """Return the instances whose parts equal every part given (exact match, as the seed's
    ``IBMQ.providers(hub, group, project)``); malformed instance names never match."""
    wanted = (hub, group, project)
    found = []
    for instance in instances:
        try:
            parts = split_instance(instance)
        except ValueError:
            continue
        if all(w is None or w == p for w, p in zip(wanted, parts, strict=True)):
            found.append(instance)
    return found
