#!/usr/bin/python3
"""Workload 5: migrations as whole processes, keel vs Alembic, on SQLite and PostgreSQL.

  run.py --keel build-bench/bin/keel --pg-url postgresql://… --work DIR --out migrations.json

- upgrade: `keel upgrade head` of tests/data/long_history (27 revisions) on a fresh
  database vs `alembic upgrade head` of bench/migrations/alembic, the same 27
  revisions written with op.* (batch_alter_table where SQLite needs it);
- autogenerate: `keel revision --autogenerate` against a database at head vs
  `alembic revision --autogenerate` against the SQLAlchemy model of the same
  schema (bench/migrations/alembic/model.py); both find nothing to change (Alembic
  still writes an empty revision, removed after each run, untimed).
Each repetition runs the contenders in alternating order; fresh databases and files
are made untimed. KEEL_BENCH_MIGRATION_REPS repetitions (default 7); median, min, max.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HISTORY = os.path.join(ROOT, "tests", "data", "long_history")
ALEMBIC = os.path.join(HERE, "alembic")


def log(msg):
    print(f"[migrations] {msg}", file=sys.stderr, flush=True)


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                   check=True, capture_output=True)


def db_url(base, name):
    head, _, rest = base.partition("?")
    return head.rsplit("/", 1)[0] + "/" + name + ("?" + rest if rest else "")


def timed(cmd, cwd=None):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return wall


class Bench:
    def __init__(self, a):
        self.a = a
        self.work = os.path.join(a.work, "migrations")
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        # Scratch copies: autogenerate may write into them.
        self.keel_mig = os.path.join(self.work, "keel-migrations")
        shutil.copytree(os.path.join(HISTORY, "migrations"), self.keel_mig)
        self.alembic = os.path.join(self.work, "alembic")
        shutil.copytree(ALEMBIC, self.alembic, ignore=shutil.ignore_patterns("__pycache__"))
        self.alembic_versions = set(os.listdir(os.path.join(self.alembic, "versions")))

    def fresh(self, backend, who):
        """A URL of an empty database for `who`."""
        if backend == "sqlite":
            path = os.path.join(self.work, f"{who}.db")
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            return "sqlite:///" + path  # an absolute path: sqlite:////…, for both
        name = f"keel_bench_migrations_{who}"
        psql(self.a.pg_url, f'DROP DATABASE IF EXISTS "{name}"')
        psql(self.a.pg_url, f'CREATE DATABASE "{name}"')
        return db_url(self.a.pg_url, name)

    def keel(self, url, *args):
        return [self.a.keel, "--url", url, *args, "--migrations", self.keel_mig]

    def alembic_cmd(self, url, *args):
        return ["alembic", "-c", os.path.join(self.alembic, "alembic.ini"), "-x", f"url={url}",
                *args]

    def upgrade(self, backend, who):
        url = self.fresh(backend, who)
        if who == "keel":
            return timed(self.keel(url, "upgrade", "head")), url
        return timed(self.alembic_cmd(url, "upgrade", "head")), url

    def autogenerate(self, backend, who, url):
        if who == "keel":
            wall = timed(self.keel(url, "revision", "-m", "nothing", "--autogenerate", "--schema",
                                   os.path.join(HISTORY, "schema.yaml")))
            extra = set(os.listdir(self.keel_mig)) - {f for f in os.listdir(
                os.path.join(HISTORY, "migrations"))}
            d = self.keel_mig
        else:
            wall = timed(self.alembic_cmd(url, "revision", "--autogenerate", "-m", "nothing"))
            d = os.path.join(self.alembic, "versions")
            extra = set(os.listdir(d)) - self.alembic_versions - {"__pycache__"}
        for f in extra:
            os.remove(os.path.join(d, f))
        return wall

    def floor(self, backend):
        """A lower bound for any tool applying this history, in seconds. SQLite: the
        sqlite3 shell running the SQL of `keel upgrade head --sql` (WAL,
        synchronous=NORMAL, as keel) as a whole process. PostgreSQL: one connection
        (libpq via psycopg2, in-process: no process start counted) plus the server's own
        time for that SQL sent as one query (clock_timestamp() before and after), with
        the durability keel's run has: its revisions commit without waiting for the WAL
        flush but the last, whose flush covers them (docs/migrations.md)."""
        sql = subprocess.run(self.keel("sqlite:///unused.db", "upgrade", "head", "--sql",
                                       "--dialect", backend),
                             check=True, capture_output=True, text=True).stdout
        url = self.fresh(backend, "floor")
        if backend == "sqlite":
            script = os.path.join(self.work, "floor.sql")
            with open(script, "w") as f:
                f.write("PRAGMA journal_mode=wal;\nPRAGMA synchronous=NORMAL;\n" + sql)
            with open(script) as stdin:
                t0 = time.perf_counter()
                subprocess.run(["sqlite3", url.removeprefix("sqlite:///")], stdin=stdin,
                               check=True, capture_output=True)
                return time.perf_counter() - t0
        import psycopg2  # Debian's python3-psycopg2, as the SQLAlchemy contenders use
        t0 = time.perf_counter()
        conn = psycopg2.connect(url)
        connect = time.perf_counter() - t0
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT extract(epoch FROM clock_timestamp())")
        start = cur.fetchone()[0]
        cur.execute("SET synchronous_commit = off")
        cur.execute(sql)
        # A durable commit that writes: it waits for the WAL flush covering the others.
        cur.execute("SET synchronous_commit = on; BEGIN; SELECT txid_current(); COMMIT")
        cur.execute("SELECT extract(epoch FROM clock_timestamp())")
        server = float(cur.fetchone()[0] - start)
        conn.close()
        psql(self.a.pg_url, 'DROP DATABASE IF EXISTS "keel_bench_migrations_floor"')
        return connect + server

    def run(self, reps):
        result = {}
        for backend in ("sqlite", "postgresql"):
            times = {(w, k): [] for w in ("upgrade", "autogenerate") for k in ("keel", "alembic")}
            floors = []
            for rep in range(reps):
                order = ("keel", "alembic") if rep % 2 == 0 else ("alembic", "keel")
                for who in order:
                    wall, url = self.upgrade(backend, who)
                    times[("upgrade", who)].append(wall)
                    times[("autogenerate", who)].append(self.autogenerate(backend, who, url))
                floors.append(self.floor(backend))
                log(f"{backend} rep {rep + 1}/{reps}: upgrade keel "
                    f"{times[('upgrade', 'keel')][-1]:.3f} s, alembic "
                    f"{times[('upgrade', 'alembic')][-1]:.3f} s; autogenerate keel "
                    f"{times[('autogenerate', 'keel')][-1]:.3f} s, alembic "
                    f"{times[('autogenerate', 'alembic')][-1]:.3f} s; floor {floors[-1]:.3f} s")
            if backend == "postgresql":
                for who in ("keel", "alembic"):
                    psql(self.a.pg_url, f'DROP DATABASE IF EXISTS "keel_bench_migrations_{who}"')
            result[backend] = {}
            for (work, who), ts in times.items():
                result[backend].setdefault(work, {})[who] = {
                    "runs_s": [round(t, 4) for t in ts], "median_s": statistics.median(ts),
                    "min_s": min(ts), "max_s": max(ts),
                    "cv": statistics.pstdev(ts) / statistics.mean(ts)}
            result[backend]["upgrade"]["floor"] = {
                "runs_s": [round(t, 4) for t in floors], "median_s": statistics.median(floors),
                "min_s": min(floors), "max_s": max(floors)}
        return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keel", required=True)
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int,
                    default=int(os.environ.get("KEEL_BENCH_MIGRATION_REPS", "7")))
    a = ap.parse_args()
    a.keel = os.path.abspath(a.keel)
    revisions = len([f for f in os.listdir(os.path.join(HISTORY, "migrations"))
                     if f.endswith((".yaml", ".yml"))])
    alembic = subprocess.run(["alembic", "--version"], capture_output=True, text=True).stdout
    data = {"workload": "migrations", "history": "tests/data/long_history",
            "revisions": revisions, "repetitions": a.reps, "alembic": alembic.strip(),
            "backends": Bench(a).run(a.reps)}
    with open(a.out, "w") as f:
        json.dump(data, f, indent=1)


if __name__ == "__main__":
    main()
