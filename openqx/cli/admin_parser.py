"""The arguments of ``openqx admin`` (kept apart from ``cli.admin`` so that building the
``openqx`` parser imports no client code)."""

from __future__ import annotations

import argparse

__all__ = ["ROLES", "add_admin_parser"]

ROLES = ("member", "project_admin", "group_admin", "hub_admin")


def add_admin_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``admin`` and its sub-commands to the ``openqx`` sub-parsers."""
    admin = sub.add_parser(
        "admin", help="administer a running service (needs an administrator token)"
    )
    admin.add_argument(
        "--url",
        help="service URL (default OPENQX_URL or the saved account, whose TLS and proxy "
        "settings then apply too)",
    )
    admin.add_argument("--token", help="admin token (default OPENQX_TOKEN or saved account)")
    cmds = admin.add_subparsers(dest="admin_command", required=True)

    create = cmds.add_parser("create-user", help="create a user and print its token (once)")
    create.add_argument("name")
    create.add_argument("--instance", action="append", help="hub/group/project (repeatable)")
    create.add_argument("--admin", action="store_true", help="make the user a server admin")
    cmds.add_parser("users", help="list users")
    one = cmds.add_parser("user", help="show one user and their roles")
    one.add_argument("name")
    for name, text in (
        ("rotate-token", "give a user a new token (printed once); the old one stops at once"),
        ("revoke-token", "revoke a user's token at once"),
        ("disable-user", "refuse a user's token from now on"),
        ("enable-user", "accept a disabled user's token again"),
    ):
        cmds.add_parser(name, help=text).add_argument("name")
    server_admin = cmds.add_parser("set-server-admin", help="give or take the server admin role")
    server_admin.add_argument("name")
    server_admin.add_argument("value", choices=["true", "false"])

    units = cmds.add_parser("units", help="list hubs, groups and projects you administer")
    units.add_argument("--under", help="only this unit and its subtree")
    unit = cmds.add_parser("create-unit", help="create a hub, hub/group or hub/group/project")
    unit.add_argument("name")
    unit.add_argument("--share", default="1", help="fair-share weight (default 1)")
    rename = cmds.add_parser("rename-unit", help="rename a hub, group or project")
    rename.add_argument("name")
    rename.add_argument("new_name", help="the new last part of the name")
    share = cmds.add_parser("set-share", help="fair-share weight of a hub, group or project")
    share.add_argument("name")
    share.add_argument("share")

    member = cmds.add_parser("add-member", help="give a user a role over a unit")
    member.add_argument("user")
    member.add_argument(
        "scope",
        help="hub/group/project (member, project_admin), "
        "hub/group (group_admin) or hub (hub_admin)",
    )
    member.add_argument("--role", default="member", choices=ROLES)
    remove = cmds.add_parser("remove-member", help="remove a user's role over a unit")
    remove.add_argument("user")
    remove.add_argument("scope")

    device = cmds.add_parser("enable-device", help="enable a device for a project")
    device.add_argument("instance", help="hub/group/project")
    device.add_argument("backend")
    device.add_argument("--share", default="1", help="fair-share weight (default 1)")
    for bound in ("job-limit", "max-shots", "max-circuits"):
        device.add_argument(f"--{bound}", default="none", help="a number, or 'none' (default)")
    no_device = cmds.add_parser("disable-device", help="disable a device for a project")
    no_device.add_argument("instance")
    no_device.add_argument("backend")
    devices = cmds.add_parser("devices", help="devices enabled for a project")
    devices.add_argument("instance")

    limit = cmds.add_parser("set-job-limit", help="server-wide per-user job limit of a backend")
    limit.add_argument("backend")
    limit.add_argument(
        "maximum_jobs", help="a number, 'none' (no limit) or 'default' (the device default)"
    )
    _add_schedule_commands(cmds)
    audit = cmds.add_parser("audit", help="the audit log of the units you administer")
    audit.add_argument("--limit", default="100", help="newest entries to show (default 100)")


def _add_schedule_commands(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Reservations and maintenance windows (times: ISO 8601; without a zone, UTC)."""
    reserve = cmds.add_parser("reserve", help="reserve a device for a project over a window")
    reserve.add_argument("backend")
    reserve.add_argument("instance", help="hub/group/project")
    reserve.add_argument("start", help="ISO 8601 time (UTC without a zone)")
    reserve.add_argument("end", help="ISO 8601 time (UTC without a zone)")
    unreserve = cmds.add_parser("cancel-reservation", help="cancel a reservation by its id")
    unreserve.add_argument("reservation_id")
    booked = cmds.add_parser("reservations", help="reservations of a device")
    booked.add_argument("backend")
    booked.add_argument("--start", help="only those ending after this time")
    booked.add_argument("--end", help="only those starting before this time")
    offline = cmds.add_parser(
        "maintenance-start", help="take a device offline now (or for a window)"
    )
    offline.add_argument("backend")
    offline.add_argument("--start", help="ISO 8601 time (default now)")
    offline.add_argument("--end", help="ISO 8601 time (default: until maintenance-end)")
    offline.add_argument("--message", help="shown in status() after 'maintenance: '")
    online = cmds.add_parser("maintenance-end", help="end a device's current maintenance")
    online.add_argument("backend")
    cancel = cmds.add_parser(
        "maintenance-cancel", help="cancel a maintenance window that has not started, by its id"
    )
    cancel.add_argument("window_id", help="the id 'openqx admin maintenance' lists")
    windows = cmds.add_parser("maintenance", help="maintenance windows not yet over")
    windows.add_argument("--backend")
