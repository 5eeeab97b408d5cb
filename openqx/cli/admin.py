"""``openqx admin``: user and limit management through the HTTP API."""

from __future__ import annotations

import argparse
import os
import sys

import httpx

__all__ = ["admin"]


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    url = args.url or os.environ.get("OPENQX_URL")
    token = args.token or os.environ.get("OPENQX_TOKEN")
    if not (url and token):
        from openqx.client.account import OpenQX

        stored = OpenQX.stored_account()
        url = url or stored.get("url")
        token = token or stored.get("token")
    if not (url and token):
        raise SystemExit("openqx admin: give --url and --token (or OPENQX_URL / OPENQX_TOKEN)")
    return url.rstrip("/"), token


def admin(args: argparse.Namespace) -> int:
    """Run one admin sub-command; prints the answer, returns the exit status."""
    url, token = _credentials(args)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{url}/v1", headers=headers, timeout=30) as client:
        if args.admin_command == "create-user":
            body = {"name": args.name, "is_admin": args.admin}
            if args.instance:
                body["instances"] = args.instance
            answer = client.post("/admin/users", json=body)
        elif args.admin_command == "users":
            answer = client.get("/admin/users")
        else:
            value = args.maximum_jobs
            maximum = None if value.lower() == "none" else int(value)
            answer = client.put(
                f"/admin/backends/{args.backend}/job_limit", json={"maximum_jobs": maximum}
            )
    if answer.is_error:
        message = answer.json().get("error", {}).get("message", answer.text)
        print(f"openqx admin: {message}", file=sys.stderr)
        return 1
    print(answer.text)
    return 0
