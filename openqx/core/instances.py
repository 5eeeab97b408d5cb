"""Instances (``hub/group/project``): the scope jobs are filed under.

The one home of the naming rule of hubs, groups and projects: a part is a non-empty string
without ``/``, surrounding spaces or characters of Unicode category C (controls such as NUL
and BEL, format characters such as the bidi override U+202E, surrogates, private-use and
unassigned code points). Such characters cannot travel in the ``X-OpenQX-Instance`` header,
and the invisible ones make two different names look alike.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "DEFAULT_INSTANCE",
    "INSTANCE_PARTS",
    "check_instance_part",
    "check_name_characters",
    "check_unit_name",
    "matching_instances",
    "split_instance",
]

DEFAULT_INSTANCE = "openqx/main/default"
"""The instance of the first admin, and of users created without one."""

INSTANCE_PARTS = ("hub", "group", "project")
"""The parts of an instance name, in order."""


def check_name_characters(value: str, field: str) -> str:
    """Refuse a name holding a character of Unicode category C (control, format, surrogate,
    private use, unassigned).

    Args:
        value: the name.
        field: what it is (for the message), e.g. ``"name"`` or ``"project"``.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: naming ``field`` and the first such character's code point.
    """
    if value.isprintable():  # fast path: no category C character (nor Z* other than ' ')
        return value
    for char in value:
        if unicodedata.category(char).startswith("C"):
            raise ValueError(
                f"{field} must not contain control or invisible formatting characters; "
                f"found U+{ord(char):04X}."
            )
    return value


def check_instance_part(value: object, part: str) -> str:
    """Check one part of an instance (a hub, group or project name).

    Args:
        value: the name.
        part: ``"hub"``, ``"group"`` or ``"project"`` (for the message).

    Returns:
        The name.

    Raises:
        ValueError: not a non-empty string, or holding ``/``, surrounding spaces or a
            character of Unicode category C (``check_name_characters``).
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{part} needs to be a non-empty string, not {value!r}.")
    check_name_characters(value, part)
    if "/" in value or value != value.strip():
        raise ValueError(f"{part} {value!r} must not contain '/' or surrounding spaces.")
    return value


def check_unit_name(name: object) -> tuple[str, ...]:
    """Split the name of a hub (``hub``), group (``hub/group``) or project
    (``hub/group/project``) into its valid parts.

    Raises:
        ValueError: not 1 to 3 parts separated by ``/``, or a part ``check_instance_part``
            refuses.
    """
    if not isinstance(name, str) or not 1 <= name.count("/") + 1 <= len(INSTANCE_PARTS):
        raise ValueError(f"{name!r} is not a hub, 'hub/group' or 'hub/group/project' name.")
    return tuple(
        check_instance_part(value, part)
        for value, part in zip(name.split("/"), INSTANCE_PARTS, strict=False)
    )


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
