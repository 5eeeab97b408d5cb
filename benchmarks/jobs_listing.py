"""Time ``jobs(limit=10)`` listings on a large jobs table (SQLite and PostgreSQL).

Fills a database with N jobs (bulk insert in batches, spread over users, backends, statuses,
names, tags, experiment ids and a year of creation dates), then times each filter alone and
combined, deep keyset pages, a small ``skip`` and ``retrieve_job`` (30+ runs each) and prints
p50/p95 per query per database. Listings run as ``user0``, who owns about 60 % of the jobs (all
in ``hub1``): the owner for whom a selective filter or a filter that matches nothing has the
most rows to walk. Target: p95 under 50 ms for every query.

    python benchmarks/jobs_listing.py --jobs 100000 --db both [--explain]

``--tenancy`` fills instead a multi-tenant table (issue 10): 1,000 users in 100 projects of
10 hubs (2 groups of 5 projects each), jobs spread over users with share levels ``none`` 70 %,
``project`` 10 %, ``group`` 10 %, ``hub`` 5 %, ``global`` 5 %, and times the own listing and
the shared-with-me listing (``scope="shared"``), first and deep pages, for plain members and
for a group, a hub and a server administrator.

    python benchmarks/jobs_listing.py --tenancy --jobs 1000000 --db both

PostgreSQL is a throwaway server started with ``tests/pg.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.databases import open_database  # noqa: E402
from openqx.core.status import JobStatus  # noqa: E402
from openqx.core.wire import JobQuery  # noqa: E402
from openqx.store import queries as q  # noqa: E402
from openqx.store.database import Database  # noqa: E402
from openqx.store.records import UserRecord  # noqa: E402
from openqx.store.sql_store import SqlJobStore  # noqa: E402

__all__ = ["main"]

BATCH = 20_000
RUNS = 40
BACKENDS = ["ibm_manila", "ibm_lima", "ibm_nairobi", "simulator_statevector"]
STATUSES = ["DONE"] * 14 + ["ERROR", "CANCELLED", "QUEUED", "RUNNING"]
NAMES = [f"{stem}-{i}" for stem in ("bell", "ghz", "qft", "vqe", "grover") for i in range(20)]
TAGS = [f"tag{i}" for i in range(20)]
RARE_TAG = "rare"  # on about 1 job in 2,000
START = datetime(2024, 1, 1, tzinfo=UTC)
USERS = 5


def fill(db: Database, n: int, seed: int = 7) -> None:
    """Insert users ``user0``..``user4`` (tokens ``token0``..) and ``n`` jobs; ``user0`` (id 1)
    owns about 60 %; user ids are 1..5 and a job's hub is ``hub<owner id % 2>``."""
    rnd = random.Random(seed)
    store = SqlJobStore(db)
    for u in range(USERS):
        store.create_user(f"user{u}", f"token{u}", instances=[f"hub{u % 2}/group/project"])
    jobs, tags = q.jobs, q.job_tags
    step = 365 * 86400 / n
    with db.engine.begin() as conn:
        conn.execution_options(statement_timeout=None)  # bulk batches may outlast the budget
        rows: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        for i in range(n):
            job_id = f"{i:08x}" + os.urandom(8).hex()
            created = START + timedelta(seconds=i * step + rnd.random())
            owner = 1 if rnd.random() < 0.6 else rnd.randint(2, USERS)
            job_tags = rnd.sample(TAGS, rnd.randint(0, 3))
            if rnd.random() < 0.0005:
                job_tags.append(RARE_TAG)
            status = rnd.choice(STATUSES)
            rows.append(
                {
                    "id": job_id, "kind": "circuits", "backend": rnd.choice(BACKENDS),
                    "status": status, "owner_id": owner,
                    "instance": f"hub{owner % 2}/group/project", "hub": f"hub{owner % 2}",
                    "hub_group": "group", "project": "project", "name": rnd.choice(NAMES),
                    "tags": job_tags, "share_level": "none",
                    "experiment_id": f"exp{rnd.randint(0, 999)}", "program_id": None,
                    "created_at": created, "updated_at": created,
                    "time_per_step": {"QUEUED": created.isoformat()}, "num_circuits": 1,
                    "shots": rnd.choice([100, 1024, 4000]), "memory": False, "header": {},
                    "options": {}, "snapshot_id": None, "payload_key": f"jobs/{job_id}/p",
                    "result_key": None, "error_code": None, "error_message": None,
                    "run_mode": None, "live_data_enabled": None, "client_info": {},
                    "cancel_requested": False, "lease_owner": None, "lease_expires_at": None,
                    "started_at": None, "finished_at": None, "priority": 0,
                }
            )  # fmt: skip
            tag_rows += [{"job_id": job_id, "tag": t} for t in job_tags]
            if len(rows) >= BATCH or i == n - 1:
                conn.execute(sa.insert(jobs), rows)
                if tag_rows:
                    conn.execute(sa.insert(tags), tag_rows)
                rows, tag_rows = [], []
    with db.engine.begin() as conn:
        conn.execution_options(statement_timeout=None)
        conn.exec_driver_sql("ANALYZE")


TENANT_USERS = 1000
TENANT_HUBS = 10
GROUPS_PER_HUB = 2
PROJECTS_PER_GROUP = 5
SHARES = ["none"] * 14 + ["project"] * 2 + ["group"] * 2 + ["hub", "global"]


def tenant_projects() -> list[str]:
    """The 100 projects: ``hub<h>/group<g>/project<p>``."""
    return [
        f"hub{h}/group{g}/project{p}"
        for h in range(TENANT_HUBS)
        for g in range(GROUPS_PER_HUB)
        for p in range(PROJECTS_PER_GROUP)
    ]


def fill_tenancy(db: Database, n: int, seed: int = 11) -> None:
    """Users ``t0``..``t999`` (tokens ``tok<i>``), user ``i`` a member of project ``i % 100``;
    ``n`` jobs, each of a random user in their project, with a random share level; ``t0`` is
    also group admin of ``hub0/group0``, ``t1`` hub admin of ``hub0``."""
    from openqx.core.access import Role

    rnd = random.Random(seed)
    store = SqlJobStore(db)
    projects = tenant_projects()
    for u in range(TENANT_USERS):
        store.create_user(f"t{u}", f"tok{u}", instances=[projects[u % len(projects)]])
    store.set_membership("t0", "hub0/group0", Role.GROUP_ADMIN)
    store.set_membership("t1", "hub0", Role.HUB_ADMIN)
    with db.engine.connect() as conn:
        ids = {r.name: r.id for r in conn.execute(sa.select(q.users.c.name, q.users.c.id))}
    step = 365 * 86400 / n
    with db.engine.begin() as conn:
        conn.execution_options(statement_timeout=None)  # bulk batches may outlast the budget
        rows: list[dict[str, Any]] = []
        for i in range(n):
            job_id = f"{i:08x}" + os.urandom(8).hex()
            created = START + timedelta(seconds=i * step + rnd.random())
            u = rnd.randrange(TENANT_USERS)
            instance = projects[u % len(projects)]
            hub, group, project = instance.split("/")
            rows.append(
                {
                    "id": job_id, "kind": "circuits", "backend": rnd.choice(BACKENDS),
                    "status": rnd.choice(STATUSES), "owner_id": ids[f"t{u}"],
                    "instance": instance, "hub": hub, "hub_group": group, "project": project,
                    "name": rnd.choice(NAMES), "tags": [], "share_level": rnd.choice(SHARES),
                    "experiment_id": None, "program_id": None,
                    "created_at": created, "updated_at": created,
                    "time_per_step": {"QUEUED": created.isoformat()}, "num_circuits": 1,
                    "shots": 1024, "memory": False, "header": {},
                    "options": {}, "snapshot_id": None, "payload_key": f"jobs/{job_id}/p",
                    "result_key": None, "error_code": None, "error_message": None,
                    "run_mode": None, "live_data_enabled": None, "client_info": {},
                    "cancel_requested": False, "lease_owner": None, "lease_expires_at": None,
                    "started_at": None, "finished_at": None, "priority": 0, "attempts": 0,
                }
            )  # fmt: skip
            if len(rows) >= BATCH or i == n - 1:
                conn.execute(sa.insert(q.jobs), rows)
                rows = []
    with db.engine.begin() as conn:
        conn.execution_options(statement_timeout=None)
        conn.exec_driver_sql("ANALYZE")


def tenancy_cases(store: SqlJobStore, db: Database) -> dict[str, Callable[[], Any]]:
    """Own and shared listings (first page, a deep page) for members and administrators."""
    named: dict[str, Callable[[], Any]] = {}

    def deep_cursor(user: UserRecord, scope: str, pages: int) -> tuple[str | None, int]:
        # Walk up to ``pages`` pages of 100 once, outside timing: the deepest cursor found
        # and how many rows lie before it.
        cursor, depth = None, 0
        for _ in range(pages):
            page, following = store.search_jobs(
                JobQuery(limit=100, cursor=cursor), visible_to=user, scope=scope
            )
            if following is None:
                break
            cursor, depth = following, depth + len(page)
        return cursor, depth

    def listing(user: UserRecord, scope: str, cursor: str | None) -> Callable[[], Any]:
        return lambda: store.search_jobs(
            JobQuery(limit=10, cursor=cursor), visible_to=user, scope=scope
        )

    for label, token in (
        ("member", "tok5"),
        ("member", "tok777"),
        ("group admin", "tok0"),
        ("hub admin", "tok1"),
        ("server admin", None),
    ):
        if token is None:
            user = store.create_user("root", "tok-root", is_admin=True)
        else:
            user = store.user_for_token(token)
        for scope in ("own", "shared"):
            if token is None and scope == "own":
                continue
            name = f"{scope} {label} {user.name}"
            named[f"{name} first"] = listing(user, scope, None)
            cursor, depth = deep_cursor(user, scope, 50)
            if cursor is not None:
                named[f"{name} deep ({depth:,})"] = listing(user, scope, cursor)
    return named


def cases(store: SqlJobStore, user: UserRecord, db: Database) -> dict[str, Callable[[], Any]]:
    """Named callables, one per timed query."""
    with db.engine.connect() as conn:
        ids = list(conn.execute(sa.select(q.jobs.c.id).limit(2000)).scalars())
    owned = _owner_jobs(db, user)

    def page_after(offset: int, descending: bool = True) -> Callable[[], Any]:
        # The cursor of the page that starts ``offset`` rows deep (found once, outside timing).
        with db.engine.connect() as conn:
            order = q.jobs.c.created_at.desc() if descending else q.jobs.c.created_at.asc()
            row = conn.execute(
                sa.select(q.jobs.c.created_at, q.jobs.c.id)
                .where(q.jobs.c.owner_id == user.id)
                .order_by(order, q.jobs.c.id.desc() if descending else q.jobs.c.id.asc())
                .offset(offset)
                .limit(1)
            ).one()
        from openqx.store.cursor import Cursor, encode_cursor

        cursor = encode_cursor(Cursor(row.created_at, row.id, descending))
        return lambda: store.search_jobs(
            JobQuery(limit=10, cursor=cursor, descending=descending), visible_to=user
        )

    def search(**kwargs: Any) -> Callable[[], Any]:
        return lambda: store.search_jobs(JobQuery(limit=10, **kwargs), visible_to=user)

    mid = START + timedelta(days=180)
    rnd = random.Random(1)
    return {
        "latest": search(),
        "ascending": search(descending=False),
        "backend": search(backend=BACKENDS[1]),
        "status=QUEUED": search(status=["QUEUED"]),
        "status=DONE,ERROR": search(status=["DONE", "ERROR"]),
        "name regexp": search(name="^ghz-1"),
        "date range (1 day)": search(start_datetime=mid, end_datetime=mid + timedelta(days=1)),
        "tags OR": search(tags=["tag3", "tag4"]),
        "tags AND": search(tags=["tag3", "tag4"], tags_operator="AND"),
        "tags rare": search(tags=[RARE_TAG]),
        "tags AND rare+common": search(tags=[RARE_TAG, "tag3"], tags_operator="AND"),
        "experiment_id": search(experiment_id="exp42"),
        "backend+status+tag": search(backend=BACKENDS[2], status=["ERROR"], tags=["tag5"]),
        "all filters": search(
            backend=BACKENDS[0],
            status=["DONE"],
            name="bell",
            tags=["tag1", "tag2"],
            start_datetime=START + timedelta(days=30),
            end_datetime=START + timedelta(days=300),
        ),  # fmt: skip
        "db_filter hub+status": search(
            db_filter={"hubInfo.hub.name": "hub1", "status": {"regexp": "^ERROR"}}
        ),
        "db_filter hub, 0 hits": search(db_filter={"hubInfo.hub.name": "hub0"}),
        "db_filter hub+status, 0 hits": search(
            db_filter={"hubInfo.hub.name": "hub0", "status": {"regexp": "^ERROR"}}
        ),
        "db_filter or/inq": search(
            db_filter={"or": [{"tags": {"inq": ["tag7"]}}, {"shots": {"lt": 200}}]}
        ),
        "skip=100": search(skip=100),
        "deep page (10k)": page_after(min(10_000, owned // 4)),
        "deep page (half)": page_after(owned // 2),
        "deep page asc (half)": page_after(owned // 2, descending=False),
        "retrieve_job": lambda: store.get_job(rnd.choice(ids)),
    }


def _owner_jobs(db: Database, user: UserRecord) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(q.jobs).where(q.jobs.c.owner_id == user.id)
            ).scalar_one()
        )


def time_cases(named: dict[str, Callable[[], Any]], runs: int) -> dict[str, tuple[float, float]]:
    """p50 and p95 in milliseconds per case."""
    out = {}
    for name, call in named.items():
        call()  # warm up
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        out[name] = (statistics.median(samples), samples[int(0.95 * (len(samples) - 1))])
    return out


def explain(db: Database, store: SqlJobStore, user: UserRecord) -> None:
    """Print the plans of a few listing statements."""
    from openqx.store.cursor import decode_cursor

    _, cursor = store.search_jobs(JobQuery(limit=10), visible_to=user)
    for label, query in [
        ("latest", JobQuery(limit=10)),
        ("cursor", JobQuery(limit=10, cursor=cursor)),
        ("tags AND", JobQuery(limit=10, tags=["tag3", "tag4"], tags_operator="AND")),
        ("status", JobQuery(limit=10, status=[JobStatus.QUEUED])),
    ]:
        stmt = q.search_jobs(
            query, user.id, decode_cursor(query.cursor) if query.cursor else None, 10
        )
        compiled = stmt.compile(db.engine, compile_kwargs={"render_postcompile": True})
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
        with db.engine.connect() as conn:
            params = compiled.params if db.dialect != "sqlite" else compiled.positiontup
            plan = conn.exec_driver_sql(
                prefix + str(compiled),
                tuple(compiled.params[k] for k in compiled.positiontup)  # type: ignore[union-attr]
                if db.dialect == "sqlite"
                else params,
            ).all()
        print(f"-- {db.dialect} {label}")
        for row in plan:
            print("   ", " | ".join(str(c) for c in row))


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--tenancy", action="store_true", help="own/shared listings (issue 10)")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="openqx-bench-") as tmp:
        for kind in kinds:
            with open_database(kind, Path(tmp)) as db:
                t0 = time.perf_counter()
                (fill_tenancy if args.tenancy else fill)(db, args.jobs)
                print(f"{kind}: inserted {args.jobs:,} jobs in {time.perf_counter() - t0:.1f} s")
                store = SqlJobStore(db)
                if args.tenancy:
                    results[kind] = time_cases(tenancy_cases(store, db), args.runs)
                    continue
                user = store.user_for_token("token0")  # ~60 % of the jobs
                if args.explain:
                    explain(db, store, user)
                results[kind] = time_cases(cases(store, user, db), args.runs)
    names = list(next(iter(results.values())))
    title = "query (limit=10)" if args.tenancy else "query (limit=10, user with ~60% of jobs)"
    header = f"{title:42}" + "".join(f"{k + ' p50':>16}{k + ' p95':>16}" for k in kinds)
    print(f"\n{args.jobs:,} jobs, {args.runs} runs per query, milliseconds")
    print(header)
    for name in names:
        cells = "".join(f"{results[k][name][0]:16.2f}{results[k][name][1]:16.2f}" for k in kinds)
        print(f"{name:42}{cells}")
    worst = max(p95 for r in results.values() for _, p95 in r.values())
    print(f"\nworst p95: {worst:.2f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
