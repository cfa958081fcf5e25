"""The per-operation workloads of bench/ops_bench.cpp through SQLAlchemy Core.

The stack keel replaces: SQLAlchemy Core (Debian's python3-sqlalchemy) over
pysqlite and psycopg2 (--mode sync) or aiosqlite and asyncpg (--mode async), on the
same tables, data and SQL as bench/ops_common.hpp. Written as SQLAlchemy's
documentation recommends: Core constructs (compiled once, then cached), a held
connection, AUTOCOMMIT isolation for the autocommit workloads, the dialect's own
insert().on_conflict_do_update() for the UPSERT; PRAGMAs set on connect so SQLite
runs WAL with synchronous=NORMAL like every other contender.

Prints Google Benchmark's JSON shape (one iteration run per benchmark, times in ns
per operation) so bench/run_ops.py merges it with the C++ contenders'. Each
benchmark repeats with more operations until one run lasts --min-time seconds, as
Google Benchmark does.
"""
import argparse
import asyncio
import json
import platform
import re
import sys
import threading
import time

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

ROWS = 10000
SCAN_ROWS = 100
POOL_SIZE = 8  # as ops_common.hpp's kPoolSize: no overflow
LOG_NAME = "a log entry of 24 chars"

metadata = sa.MetaData()
items = sa.Table("bench_items", metadata,
                 sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
                 sa.Column("name", sa.Text, nullable=False),
                 sa.Column("score", sa.Float(precision=53)))
log = sa.Table("bench_log", metadata,
               sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
               sa.Column("name", sa.Text, nullable=False),
               sa.Column("score", sa.Float(precision=53)))

SELECT = sa.select(items.c.id, items.c.name, items.c.score).where(
    items.c.id == sa.bindparam("id"))
SCAN = (sa.select(items.c.id, items.c.name, items.c.score)
        .where(items.c.id >= sa.bindparam("lo"), items.c.id < sa.bindparam("hi"))
        .order_by(items.c.id))
INSERT = sa.insert(log)


def upsert_for(backend):
    ins = (sqlite_dialect if backend == "sqlite" else pg_dialect).insert(items)
    return ins.on_conflict_do_update(index_elements=[items.c.id],
                                     set_={"name": ins.excluded.name,
                                           "score": ins.excluded.score})


def urls(args):
    if args.backend == "sqlite":
        driver = "pysqlite" if args.mode == "sync" else "aiosqlite"
        return f"sqlite+{driver}:///{args.sqlite_path}"
    driver = "psycopg2" if args.mode == "sync" else "asyncpg"
    return re.sub(r"^postgres(ql)?://", f"postgresql+{driver}://", args.pg_url)


def set_pragmas(dbapi_connection, _record):
    cur = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def make_engine(args, pool_size=5, max_overflow=3):
    url = urls(args)
    if args.mode == "sync":
        extra = {"connect_args": {"check_same_thread": False}} if args.backend == "sqlite" else {}
        # SQLAlchemy 1.4 gives a SQLite file NullPool (a new connection per
        # checkout); a real pool, as keel's and SQLAlchemy 2's, is what is compared.
        engine = sa.create_engine(url, future=True, poolclass=QueuePool, pool_size=pool_size,
                                  max_overflow=max_overflow, **extra)
        target = engine
    else:
        from sqlalchemy.ext.asyncio import create_async_engine
        engine = create_async_engine(url, poolclass=AsyncAdaptedQueuePool, pool_size=pool_size,
                                     max_overflow=max_overflow)
        target = engine.sync_engine
    if args.backend == "sqlite":
        event.listen(target, "connect", set_pragmas)
    return engine


def rows_to_fill():
    return [{"id": i, "name": f"item-{i}", "score": i * 0.5} for i in range(ROWS)]


def reset_log_sql(backend):
    return "DELETE FROM bench_log" if backend == "sqlite" else "TRUNCATE bench_log"


def measure(run, min_time, setup=None, teardown=None):
    """Runs run(n) with growing n until one run lasts min_time; (n, wall ns, cpu ns).
    setup() and teardown() run around each run(n), untimed."""
    n = 1
    while True:
        if setup:
            setup()
        c0, t0 = time.process_time_ns(), time.perf_counter_ns()
        run(n)
        dt, ct = time.perf_counter_ns() - t0, time.process_time_ns() - c0
        if teardown:
            teardown()
        if dt >= min_time * 1e9 or n >= 10**9:
            return n, dt, ct
        # As Google Benchmark: aim 40% past min_time, grow at most tenfold.
        n = max(n + 1, min(n * 10, int(n * min_time * 1.4e9 / max(dt, 1))))


def result(name, n, dt, ct, threads=1):
    return {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
            "repetition_index": 0, "threads": threads, "iterations": n,
            "real_time": dt / n, "cpu_time": ct / n, "time_unit": "ns",
            "items_per_second": n * threads / (dt / 1e9)}


# ---- sync: pysqlite, psycopg2 ------------------------------------------------------

def sync_workloads(args, engine):
    upsert = upsert_for(args.backend)
    ac = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    tx = engine.connect()
    state = {"n": 0, "log": 0}

    def reset_log():
        ac.execute(sa.text(reset_log_sql(args.backend)))

    def point_select(n):
        s = 0
        for _ in range(n):
            i = state["n"] % ROWS
            state["n"] += 1
            row = ac.execute(SELECT, {"id": i}).one()
            s += row[0]
            str(row[1]), float(row[2])

    def insert_autocommit(n):
        for _ in range(n):
            i = state["log"]
            state["log"] += 1
            ac.execute(INSERT, {"id": i, "name": LOG_NAME, "score": i * 0.5})

    def begin():
        reset_log()
        state["tx"] = tx.begin()

    def insert_in_transaction(n):
        for _ in range(n):
            i = state["log"]
            state["log"] += 1
            tx.execute(INSERT, {"id": i, "name": LOG_NAME, "score": i * 0.5})

    def do_upsert(n):
        for _ in range(n):
            i = state["n"] % ROWS
            state["n"] += 1
            ac.execute(upsert, {"id": i, "name": f"item-{i}", "score": i * 0.5})

    def range_scan(n):
        s = 0
        for _ in range(n):
            lo = (state["n"] * SCAN_ROWS) % (ROWS - SCAN_ROWS)
            state["n"] += 1
            count = 0
            for row in ac.execute(SCAN, {"lo": lo, "hi": lo + SCAN_ROWS}):
                s += row[0]
                str(row[1]), float(row[2])
                count += 1
            if count != SCAN_ROWS:
                raise RuntimeError("range scan read a wrong number of rows")

    # workload: (run, setup, teardown); the INSERTs start from an empty bench_log.
    return {"PointSelect": (point_select, None, None),
            "InsertAutocommit": (insert_autocommit, reset_log, None),
            "InsertInTransaction": (insert_in_transaction, begin,
                                    lambda: state.pop("tx").commit()),
            "Upsert": (do_upsert, None, None),
            "RangeScan": (range_scan, None, None)}


def sync_pool(args, threads, min_time):
    """Checkout and checkin (engine.connect() / close()) from `threads` threads."""
    engine = make_engine(args, pool_size=POOL_SIZE, max_overflow=0)
    with engine.connect():
        pass

    def run(n):
        def work():
            for _ in range(n):
                with engine.connect():
                    pass
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    n, dt, ct = measure(run, min_time)
    engine.dispose()
    return n, dt, ct


def run_sync(args, wanted, suffix, out):
    engine = make_engine(args)
    with engine.begin() as c:
        metadata.drop_all(c)
        metadata.create_all(c)
        c.execute(sa.insert(items), rows_to_fill())
    for workload, (fn, setup, teardown) in sync_workloads(args, engine).items():
        name = f"BM_{workload}_SqlalchemySync_{suffix}"
        if wanted(name):
            out.append(result(name, *measure(fn, args.min_time, setup, teardown)))
    engine.dispose()
    for threads in (1, 2, 8):
        name = f"BM_PoolAcquire_SqlalchemySync_{suffix}/real_time/threads:{threads}"
        if wanted(name):
            n, dt, ct = sync_pool(args, threads, args.min_time)
            out.append(result(name, n, dt, ct, threads))


# ---- async: aiosqlite, asyncpg ------------------------------------------------------

async def async_measure(run, min_time, setup=None, teardown=None):
    n = 1
    while True:
        if setup:
            await setup()
        c0, t0 = time.process_time_ns(), time.perf_counter_ns()
        await run(n)
        dt, ct = time.perf_counter_ns() - t0, time.process_time_ns() - c0
        if teardown:
            await teardown()
        if dt >= min_time * 1e9 or n >= 10**9:
            return n, dt, ct
        n = max(n + 1, min(n * 10, int(n * min_time * 1.4e9 / max(dt, 1))))


async def run_async(args, wanted, suffix, out):
    engine = make_engine(args)
    async with engine.begin() as c:
        await c.run_sync(metadata.drop_all)
        await c.run_sync(metadata.create_all)
        await c.execute(sa.insert(items), rows_to_fill())
    upsert = upsert_for(args.backend)
    ac = await (await engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
    tx = await engine.connect()
    state = {"n": 0, "log": 0}

    async def reset_log():
        await ac.execute(sa.text(reset_log_sql(args.backend)))

    async def point_select(n):
        s = 0
        for _ in range(n):
            i = state["n"] % ROWS
            state["n"] += 1
            row = (await ac.execute(SELECT, {"id": i})).one()
            s += row[0]
            str(row[1]), float(row[2])

    async def insert_autocommit(n):
        for _ in range(n):
            i = state["log"]
            state["log"] += 1
            await ac.execute(INSERT, {"id": i, "name": LOG_NAME, "score": i * 0.5})

    async def begin():
        await reset_log()
        state["tx"] = await tx.begin()

    async def commit():
        await state.pop("tx").commit()

    async def insert_in_transaction(n):
        for _ in range(n):
            i = state["log"]
            state["log"] += 1
            await tx.execute(INSERT, {"id": i, "name": LOG_NAME, "score": i * 0.5})

    async def do_upsert(n):
        for _ in range(n):
            i = state["n"] % ROWS
            state["n"] += 1
            await ac.execute(upsert, {"id": i, "name": f"item-{i}", "score": i * 0.5})

    async def range_scan(n):
        s = 0
        for _ in range(n):
            lo = (state["n"] * SCAN_ROWS) % (ROWS - SCAN_ROWS)
            state["n"] += 1
            count = 0
            for row in await ac.execute(SCAN, {"lo": lo, "hi": lo + SCAN_ROWS}):
                s += row[0]
                str(row[1]), float(row[2])
                count += 1
            if count != SCAN_ROWS:
                raise RuntimeError("range scan read a wrong number of rows")

    workloads = {"PointSelect": (point_select, None, None),
                 "InsertAutocommit": (insert_autocommit, reset_log, None),
                 "InsertInTransaction": (insert_in_transaction, begin, commit),
                 "Upsert": (do_upsert, None, None),
                 "RangeScan": (range_scan, None, None)}
    for workload, (fn, setup, teardown) in workloads.items():
        name = f"BM_{workload}_SqlalchemyAsync_{suffix}"
        if wanted(name):
            out.append(result(name, *await async_measure(fn, args.min_time, setup, teardown)))
    await ac.close()
    await tx.close()
    await engine.dispose()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["sync", "async"], required=True)
    p.add_argument("--backend", choices=["sqlite", "postgresql"], required=True)
    p.add_argument("--sqlite-path", help="the SQLite file to create (--backend sqlite)")
    p.add_argument("--pg-url", help="postgresql://… (--backend postgresql)")
    p.add_argument("--min-time", type=float, default=0.3, help="seconds per measured run")
    p.add_argument("--filter", default=".", help="a regex over benchmark names")
    args = p.parse_args()
    if args.backend == "sqlite" and not args.sqlite_path:
        p.error("--backend sqlite needs --sqlite-path")
    if args.backend == "postgresql" and not args.pg_url:
        p.error("--backend postgresql needs --pg-url")
    suffix = "Sqlite" if args.backend == "sqlite" else "Postgresql"
    wanted = re.compile(args.filter).search
    out = []
    if args.mode == "sync":
        run_sync(args, wanted, suffix, out)
    else:
        asyncio.run(run_async(args, wanted, suffix, out))
    driver = {("sync", "sqlite"): "sqlite3", ("sync", "postgresql"): "psycopg2",
              ("async", "sqlite"): "aiosqlite", ("async", "postgresql"): "asyncpg"}
    module = __import__(driver[(args.mode, args.backend)])
    context = {"executable": "sqlalchemy_ops.py", "python": platform.python_version(),
               "sqlalchemy": sa.__version__,
               driver[(args.mode, args.backend)]: getattr(module, "__version__", None)
               or getattr(module, "sqlite_version", "")}
    json.dump({"context": context, "benchmarks": out}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
