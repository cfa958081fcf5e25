"""Runs the per-operation and pool benchmarks of every contender, interleaved.

Each repetition runs every job once, in an order shuffled per repetition:
`keel_bench --paired` (raw sqlite3/libpq, keel Connection and Database, SOCI: for
each workload, every contender set up and warmed up, then many rounds in which each
runs one short slice of the same number of operations, in a rotating order; see
bench/main.cpp), keel_bench's Google Benchmark pool workload, and
bench/python/sqlalchemy_ops.py for SQLAlchemy sync and async on each backend.
Every run is kept, per repetition, in one Google-Benchmark-shaped JSON file (the
paired runs with their per-slice times); bench/summarize.py takes medians, spreads
and ratios from it. Needs KEEL_BENCH_PG_URL (scripts/run-bench sets it).
KEEL_BENCH_ROUNDS and KEEL_BENCH_SLICE_MS set --rounds and --slice-ms.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The pool workload, run by Google Benchmark (threaded); the bulk load runs apart.
POOL = [f"BM_PoolAcquire_{c}_{b}" for c in ("Keel", "Soci") for b in ("Sqlite", "Postgresql")]


def jobs(args, pg_url, sqlite_dir):
    keel_bench = os.path.join(args.build, "bin", "keel_bench")
    paired = [keel_bench, "--paired", f"--rounds={args.rounds}", f"--slice-ms={args.slice_ms}"]
    # The client on one CPU, the PostgreSQL server's backends on another (bench/main.cpp).
    cpus = sorted(os.sched_getaffinity(0))
    paired += [f"--client-cpu={cpus[-1]}", f"--server-cpu={cpus[0]}"]
    if args.filter:
        paired.append(f"--filter={args.filter}")
    out = [("keel_bench --paired (raw, keel, SOCI)", paired)]
    pool = [name for name in POOL if not args.filter or re.search(args.filter, name)]
    if pool:
        out.append(("keel_bench pool (keel, SOCI)",
                    [keel_bench, f"--benchmark_filter=^({'|'.join(pool)})/",
                     f"--benchmark_min_time={args.min_time}", "--benchmark_format=json"]))
    for mode in ("sync", "async"):
        for backend in ("sqlite", "postgresql"):
            cmd = [args.python, os.path.join(HERE, "python", "sqlalchemy_ops.py"),
                   "--mode", mode, "--backend", backend, f"--min-time={args.min_time}",
                   "--sqlite-path", os.path.join(sqlite_dir, f"sqlalchemy-{mode}.db"),
                   "--pg-url", pg_url]
            if args.filter:
                cmd.append(f"--filter={args.filter}")
            out.append((f"SQLAlchemy {mode} {backend}", cmd))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", required=True, help="the build directory holding bin/keel_bench")
    p.add_argument("--out", required=True, help="the JSON file to write")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--min-time", type=float, default=0.3,
                   help="seconds per Google Benchmark / SQLAlchemy run")
    p.add_argument("--rounds", type=int, default=int(os.environ.get("KEEL_BENCH_ROUNDS", 24)),
                   help="paired rounds per workload and repetition")
    p.add_argument("--slice-ms", type=float,
                   default=float(os.environ.get("KEEL_BENCH_SLICE_MS", 20)),
                   help="the slowest contender's slice, in ms")
    p.add_argument("--filter", default="", help="a regex over benchmark names (default: all)")
    p.add_argument("--python", default="/usr/bin/python3",
                   help="the interpreter with Debian's SQLAlchemy and drivers")
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    pg_url = os.environ.get("KEEL_BENCH_PG_URL")
    if not pg_url:
        sys.exit("run_ops.py: KEEL_BENCH_PG_URL is not set (scripts/run-bench sets it)")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    results, contexts, orders = [], {}, []
    with tempfile.TemporaryDirectory(prefix="keel-ops-bench-") as sqlite_dir:
        todo = jobs(args, pg_url, sqlite_dir)
        for rep in range(args.reps):
            order = todo[:]
            rng.shuffle(order)
            orders.append([label for label, _ in order])
            # keel_bench shuffles its workloads, and the contenders within each, by seed.
            env = dict(os.environ, KEEL_BENCH_SEED=str(rng.randrange(1 << 62)))
            for label, cmd in order:
                t0 = time.monotonic()
                run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
                if run.returncode != 0:
                    sys.stderr.write(run.stderr)
                    sys.exit(f"run_ops.py: {label} failed (exit {run.returncode}): "
                             f"{' '.join(cmd)}")
                data = json.loads(run.stdout)
                contexts.setdefault(label, data.get("context", {}))
                for b in data["benchmarks"]:
                    if b.get("run_type", "iteration") != "iteration":
                        continue
                    b["repetition_index"] = rep
                    b["job"] = label
                    results.append(b)
                print(f"run_ops.py: repetition {rep + 1}/{args.reps}: {label} "
                      f"({time.monotonic() - t0:.0f} s)", file=sys.stderr)
    with open(args.out, "w") as f:
        json.dump({"context": {"repetitions": args.reps, "min_time_s": args.min_time,
                               "rounds": args.rounds, "slice_ms": args.slice_ms,
                               "seed": seed, "order": orders, "jobs": contexts},
                   "benchmarks": results}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
