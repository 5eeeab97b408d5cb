"""Time the dashboard's jobs page on a database of 10,000 jobs (server time).

Fills a SQLite database with ``benchmarks/jobs_listing.fill`` (jobs spread over five users,
backends, statuses, names, tags and a year), builds the real app around it (``create_app``:
the API and the dashboard), signs in as ``user0`` (about 60 % of the jobs) and times each
page request inside the server: an ASGI wrapper measures from the request's arrival to the
last byte of the answer (session, user, search through the API's function, template
rendering). The dispatcher is not started, so nothing changes the jobs while they are timed.
Target (issue 15): the first page under 300 ms.

    python benchmarks/dashboard.py --jobs 10000 [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.exceptions import StarletteDeprecationWarning  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from benchmarks.databases import open_database  # noqa: E402
from benchmarks.jobs_listing import fill  # noqa: E402
from openqx.devices.catalog import default_catalog  # noqa: E402
from openqx.execution.inline import InlineExecutor  # noqa: E402
from openqx.server.app import create_app  # noqa: E402
from openqx.server.service import Service  # noqa: E402
from openqx.server.settings import Settings  # noqa: E402
from openqx.store.blobs import MemoryBlobStore  # noqa: E402
from openqx.store.sql_store import SqlJobStore  # noqa: E402

with warnings.catch_warnings():  # keep httpx (as tests/unit/server/harness.py does)
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

__all__ = ["main"]

RUNS = 40
BUDGET_MS = 300.0


class ServerTimer:
    """ASGI wrapper recording each HTTP request's time inside the app, in seconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - started

        await self.app(scope, receive, timed_send)


def time_page(client: TestClient, timer: ServerTimer, path: str, runs: int) -> list[float]:
    """Server milliseconds of ``runs`` requests of ``path`` (after one warm-up)."""
    samples = []
    for index in range(runs + 1):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        if index:
            samples.append(timer.last * 1000)
    return samples


def main(argv: list[str] | None = None) -> None:
    """Fill, sign in, time the pages, print p50/p95 per page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="openqx-bench-") as tmp,
        open_database(args.db, Path(tmp)) as db,
    ):
        fill(db, args.jobs)
        catalog = default_catalog()
        service = Service(
            store=SqlJobStore(db),
            blobs=MemoryBlobStore(),
            executor=InlineExecutor(1, catalog),
            catalog=catalog,
            settings=Settings(workers=1),
        )
        timer = ServerTimer(create_app(service))
        client = TestClient(timer, base_url="http://bench")  # no lifespan: no dispatcher
        signed = client.post("/signin", data={"token": "token0"}, follow_redirects=False)
        assert signed.status_code == 303, signed.text
        first = client.get("/jobs")
        cursor = re.search(r'href="(/jobs\?[^"]+)" id="next-page"', first.text)
        assert cursor, "no second page"
        pages: dict[str, str] = {
            "first page (own jobs)": "/jobs",
            "first page, mine and shared": "/jobs?scope=all",
            "live table fragment": "/jobs/table",
            "second page (cursor)": cursor.group(1).replace("&amp;", "&"),
            "backend + status filter": "/jobs?backend=ibm_lima&status=DONE",
            "tag filter": "/jobs?tags=tag3",
            "name regexp": "/jobs?name=%5Eghz-1",
        }
        timed: dict[str, Callable[[], list[float]]] = {
            label: (lambda p=path: time_page(client, timer, p, args.runs))  # type: ignore[misc]
            for label, path in pages.items()
        }
        print(f"{args.db}: {args.jobs:,} jobs, {args.runs} runs per page, server time in ms")
        worst = 0.0
        for label, run in timed.items():
            samples = sorted(run())
            p50 = statistics.median(samples)
            p95 = samples[int(0.95 * (len(samples) - 1))]
            worst = max(worst, p95)
            print(f"  {label:32s} p50 {p50:7.1f}   p95 {p95:7.1f}")
        verdict = "within" if worst < BUDGET_MS else "OVER"
        print(f"worst p95 {worst:.1f} ms: {verdict} the {BUDGET_MS:.0f} ms budget")


if __name__ == "__main__":
    main()
