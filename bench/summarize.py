"""bench/results/*.json → bench/results/summary.md (printed too) and PNG charts.

usage: summarize.py RESULTS_DIR [--readme]   (--readme: README.md's tables only)

The summary is a list of sections, each a function from the results directory to
Markdown lines (or None when its JSON is missing), registered in order with
@section. Figures are medians over repetitions; the spread is the coefficient of
variation (stdev / mean) of those repetitions. Ratios are taken within one run,
because the machines are shared and noisy and only ratios are comparable.
"""
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys

BACKENDS = [("Sqlite", "SQLite"), ("Postgresql", "PostgreSQL")]
WORKLOADS = [("PointSelect", "point SELECT by key"),
             ("InsertAutocommit", "INSERT, autocommit"),
             ("InsertInTransaction", "INSERT in one transaction"),
             ("Upsert", "UPSERT"),
             ("RangeScan", "100-row range scan")]
CHART_LABEL = {"PointSelect": "point SELECT", "InsertAutocommit": "INSERT autocommit",
               "InsertInTransaction": "INSERT in a txn", "Upsert": "UPSERT",
               "RangeScan": "range scan (100)"}
CONTENDERS = [("Raw", "raw"), ("KeelConnection", "keel Connection"),
              ("KeelDatabase", "keel Database"), ("Soci", "SOCI"),
              ("SqlalchemySync", "SQLAlchemy sync"), ("SqlalchemyAsync", "SQLAlchemy async")]
RAW_NAME = {"Sqlite": "sqlite3", "Postgresql": "libpq"}
DRIVERS = {"Sqlite": ("pysqlite", "aiosqlite"), "Postgresql": ("psycopg2", "asyncpg")}
RATIO_TARGET = 1.10
NAME = re.compile(r"^BM_([A-Za-z]+)_([A-Za-z]+)_(Sqlite|Postgresql)(?:/.*threads:(\d+))?")

SECTIONS = []


def section(fn):
    SECTIONS.append(fn)
    return fn


def load(results, name):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def cv(values):
    return statistics.stdev(values) / statistics.mean(values) if len(values) > 1 else 0.0


def si(x):
    """ops/s in a short form: 1.2M, 411k, 35.2k, 980."""
    for div, unit in ((1e6, "M"), (1e3, "k")):
        if x >= div:
            v = x / div
            return f"{v:.1f}{unit}" if v < 100 else f"{v:.0f}{unit}"
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}"


class Ops:
    """The per-rep runs of ops.json by (workload, contender, backend, threads)."""

    def __init__(self, data):
        self.context = data["context"]
        self.runs = {}
        for b in data["benchmarks"]:
            m = NAME.match(b["name"])
            if not m:
                continue
            workload, contender, backend, threads = m.groups()
            self.runs.setdefault((workload, contender, backend, int(threads or 1)), []).append(b)

    def get(self, workload, contender, backend, threads=1):
        """(median ops/s, cv) or None; ops/s is throughput over all threads."""
        runs = self.runs.get((workload, contender, backend, threads))
        if not runs:
            return None
        rates = [b["items_per_second"] if "items_per_second" in b else 1e9 / b["real_time"]
                 for b in runs]
        return statistics.median(rates), cv(rates)

    def paired(self, workload, a, b, backend, threads=1):
        """The median over repetitions of a's ops/s over b's in the same repetition
        (keel_bench runs one workload's contenders back to back), or None."""
        def rates(contender):
            return {r["repetition_index"]: r["items_per_second"] if "items_per_second" in r
                    else 1e9 / r["real_time"]
                    for r in self.runs.get((workload, contender, backend, threads), [])}
        ra, rb = rates(a), rates(b)
        both = sorted(set(ra) & set(rb))
        return statistics.median(ra[i] / rb[i] for i in both) if both else None

    def rounds(self, workload, a, b, backend):
        """a's summed slice time over b's in the paired rounds of every repetition
        (keel_bench --paired: the same operations, slices taking turns), with the first
        and third quartiles of the per-round ratios; None without paired runs of both."""
        def slices(contender):
            return {r["repetition_index"]: r["round_ns"]
                    for r in self.runs.get((workload, contender, backend, 1), [])
                    if "round_ns" in r}
        sa, sb = slices(a), slices(b)
        both = sorted(set(sa) & set(sb))
        ratios = sorted(x / y for i in both for x, y in zip(sa[i], sb[i]))
        if not ratios:
            return None
        q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        return sum(sum(sa[i]) for i in both) / sum(sum(sb[i]) for i in both), q1, q3

    def counter(self, workload, contender, backend, threads, key):
        runs = self.runs.get((workload, contender, backend, threads), [])
        values = [b[key] for b in runs if key in b]
        return statistics.median(values) if values else None


def ops_table(ops, backend, compact=False):
    """One backend's per-operation table; compact drops keel Database and the spreads."""
    shown = [c for c in CONTENDERS if not (compact and c[0] == "KeelDatabase")]
    head = ["workload"] + [RAW_NAME[backend] if key == "Raw" else label for key, label in shown]
    if compact:
        head += ["keel/raw time", "keel vs SOCI", "keel vs SQLAlchemy sync / async"]
    else:
        head += ["keel/raw time (Connection, Database)", "keel vs SOCI",
                 "keel vs SQLAlchemy sync / async"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for workload, label in WORKLOADS:
        got = {key: ops.get(workload, key, backend) for key, _ in CONTENDERS}
        if not any(got.values()):
            continue
        cells = [label]
        for key, _ in shown:
            g = got[key]
            cells.append("—" if g is None else si(g[0]) if compact
                         else f"{si(g[0])} ±{g[1] * 100:.0f}%")

        def quartiles(q):
            return "" if compact else f" ({q[1]:.2f}–{q[2]:.2f})"

        def ratio(key):  # keel's time over raw's: ≤ 1.10 is the target
            q = ops.rounds(workload, key, "Raw", backend)
            if q is None:
                return "—"
            # Judged as shown, to two decimals.
            return f"{q[0]:.2f}" + ("" if round(q[0], 2) <= RATIO_TARGET else " ✗") + quartiles(q)

        def factor(peer):  # how many times the peer's ops/s keel's is; ≥ 1 keel ahead
            q = ops.rounds(workload, peer, "KeelConnection", backend)  # peer's time over keel's
            f = q[0] if q else ops.paired(workload, "KeelConnection", peer, backend)
            if f is None:
                return "—"
            return f"{f:.2f}×" + ("" if round(f, 2) >= 1 else " ✗") + (quartiles(q) if q else "")

        cells.append(ratio("KeelConnection") if compact
                     else f"{ratio('KeelConnection')}, {ratio('KeelDatabase')}")
        cells.append(factor("Soci"))
        cells.append(f"{factor('SqlalchemySync')} / {factor('SqlalchemyAsync')}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def ops_data(results):
    data = load(results, "ops.json")
    return Ops(data) if data else None


def pinning(ctx):
    """What the summary says about the CPUs keel_bench --paired ran on."""
    paired = next((c for label, c in ctx.get("jobs", {}).items() if "--paired" in label), {})
    if paired.get("server_cpu", -1) >= 0 and paired.get("client_cpu", -1) >= 0:
        return ("keel_bench ran on one CPU and moved every PostgreSQL backend to another: "
                "whether a backend shares the client's core changes a round trip's cost "
                "several times over, and left to the scheduler that differs between "
                "connections for seconds at a time. ")
    return "keel_bench and the PostgreSQL server ran on CPUs of the scheduler's choice. "


@section
def per_operation(results):
    ops = ops_data(results)
    if ops is None:
        return None
    ctx = ops.context
    out = ["## Per operation (workload 1)", "",
           f"Operations per second, median of {ctx['repetitions']} repetitions, ± the spread "
           "(coefficient of variation across repetitions). raw, keel and SOCI run in "
           "`keel_bench --paired` (bench/main.cpp): for each workload every contender is set "
           "up (connection or session open, statements prepared) and warmed up alike, then "
           f"for {ctx.get('rounds', '?')} rounds each runs one slice of the same number of "
           f"operations (the slowest contender's slice about {ctx.get('slice_ms', '?')} ms), "
           "taking turns in an order rotated every round; a repetition's ops/s is the "
           "operations of its slices over their summed time. SQLAlchemy runs as its own "
           f"process, at least {ctx['min_time_s']} s per benchmark. Every repetition runs "
           "each process once, in a shuffled order. "
           "The same tables, data and SQL for all (bench/ops_common.hpp); "
           "every column of every row is read into a native value. SQLite: a WAL file, "
           "synchronous=NORMAL; PostgreSQL 15 with its default settings over TCP loopback "
           "(so every autocommit write waits for its WAL flush).", "",
           "- **raw**: sqlite3 prepared, reused statements; libpq `PQprepare`/`PQexecPrepared`.",
           "- **keel Connection**: a held `keel::Connection`; **keel Database**: "
           "`keel::Database`, a pool lease per operation (INSERT in one transaction: one "
           "`db.transaction` around the loop). The range scan's bounds cap it at 100 rows, so "
           "on PostgreSQL keel reads it with `query_all()` (one result from the "
           "server, as raw libpq gets; `query()` streams row by row); on SQLite, where rows "
           "come from the engine in-process, with the streaming `query()` (both through "
           "`Connection` and `Database`).",
           "- **SOCI** 4.0 (`libsoci-dev`): a held session, statements prepared once "
           "(`sql.prepare`), the range scan a bulk fetch into vectors.",
           "- **SQLAlchemy** 1.4 Core: a held connection, AUTOCOMMIT isolation for the "
           "autocommit workloads; sync over pysqlite / psycopg2, async over aiosqlite / asyncpg. "
           "It compiles its UPSERT (`insert().on_conflict_do_update()`) on every execution: "
           "1.4 cannot cache that construct (its log says \"no key\").",
           "",
           f"**keel/raw time** is keel's time per operation over the raw API's (target ≤ "
           f"{RATIO_TARGET:.2f}; ✗ marks a miss). **keel vs X** is keel Connection's ops/s over "
           "X's (≥ 1: keel is ahead; ✗ marks a miss, judged at the two decimals shown). "
           "Against raw and SOCI each ratio is the two contenders' slice times summed over "
           "every paired round of every repetition (neighbouring slices of the same "
           "operations, so the machine's and the server's state of the moment weighs on both "
           "alike), with the interquartile range of the per-round ratios in parentheses. "
           + pinning(ctx) +
           "Against SQLAlchemy, a separate process, it is the median over repetitions of the "
           "ratio within each.", ""]
    for backend, title in BACKENDS:
        out += [f"### {title}", ""] + ops_table(ops, backend) + [
            "", f"![{title}: operations per second](ops-{backend.lower()}.png)", ""]
    return out


@section
def pool(results):
    ops = ops_data(results)
    if ops is None or not any(k[0] == "PoolAcquire" for k in ops.runs):
        return None
    out = ["## Pool: acquire and release (workload 3)", "",
           "Acquires per second over all threads (a lease taken and given back, no "
           "statement), median ± spread. Every pool holds 8 connections with no overflow, "
           "opened beforehand: keel's `Database` (pre-ping on, its default), "
           "`soci::connection_pool`, SQLAlchemy's `QueuePool` (`engine.connect()`/`close()`; "
           "its threads share the GIL). The machine has 2 cores. keel's pre-ping trusts a "
           "connection returned less than 500 ms ago (HikariCP's bypass window); past that, on "
           "PostgreSQL it costs a `poll()` of the socket per checkout (it notices a server that "
           "has closed the connection). SOCI's pool checks nothing.", "",
           "| backend | threads | keel | SOCI | SQLAlchemy sync | keel vs SOCI | "
           "keel vs SQLAlchemy |", "|---|---:|---:|---:|---:|---:|---:|"]
    for backend, title in BACKENDS:
        for threads in (1, 2, 8):
            got = {c: ops.get("PoolAcquire", c, backend, threads)
                   for c in ("Keel", "Soci", "SqlalchemySync")}
            if not any(got.values()):
                continue
            cells = [title, str(threads)]
            for c in ("Keel", "Soci", "SqlalchemySync"):
                g = got[c]
                cells.append("—" if g is None else f"{si(g[0])} ±{g[1] * 100:.0f}%")
            for c in ("Soci", "SqlalchemySync"):
                f = ops.paired("PoolAcquire", "Keel", c, backend, threads)
                cells.append("—" if f is None else f"{f:.2f}×" + ("" if f >= 1 else " ✗"))
            out.append("| " + " | ".join(cells) + " |")
    return out + [""]


# Bulk load (workload 2): each iteration is one whole load of `rows` rows, so the
# figure is rows/s, and keel's is given as a share of the raw API's (the target is
# at least 0.90; on PostgreSQL against binary COPY).
BULK = [  # (backend, contender, benchmark, the raw floor it is measured against)
    ("SQLite", "raw sqlite3, prepared INSERT reused", "BM_BulkLoad_RawSqlite", None),
    ("SQLite", "keel bulk_insert", "BM_BulkLoad_Keel_Sqlite", "BM_BulkLoad_RawSqlite"),
    ("PostgreSQL", "raw libpq COPY text", "BM_BulkLoad_RawLibpqCopyText",
     "BM_BulkLoad_RawLibpqCopyBinary"),
    ("PostgreSQL", "raw libpq COPY binary", "BM_BulkLoad_RawLibpqCopyBinary", None),
    ("PostgreSQL", "keel bulk_insert", "BM_BulkLoad_Keel_Postgresql",
     "BM_BulkLoad_RawLibpqCopyBinary"),
]
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


@section
def bulk(results):
    data = load(results, "bulk.json")
    if data is None:
        return None
    med, spread, rows = {}, {}, {}
    for b in data["benchmarks"]:
        name = b["run_name"].split("/")[0]  # without /iterations:1/real_time
        if b.get("aggregate_name") == "median":
            med[name] = b["real_time"] * UNIT_NS[b.get("time_unit", "ns")]
            if "rows" in b:
                rows[name] = b["rows"]
        elif b.get("aggregate_name") == "cv":
            spread[name] = b["real_time"]
    if not any(b[2] in med for b in BULK):
        return None
    n = next(rows[b[2]] for b in BULK if b[2] in rows)
    out = [f"## Bulk load: {n:,.0f} narrow rows in one transaction (workload 2)", "",
           "Target: keel ≥ 0.90 of the raw API's rows/s (PostgreSQL: binary COPY).", "",
           "| backend | contender | median (ms) | spread (cv) | rows/s | share of raw rows/s |",
           "|---|---|---:|---:|---:|---:|"]
    for backend, label, name, raw in BULK:
        if name not in med:
            continue
        t = med[name]
        share = f"{med[raw] / t:.2f}" if raw in med else "—"
        out.append(f"| {backend} | {label} | {t / 1e6:,.0f} | {spread.get(name, 0) * 100:.1f}% | "
                   f"{rows.get(name, n) / (t / 1e9):,.0f} | {share} |")
    return out + [""]


# Workloads 4 and 5 (whole processes) write their own JSON beside this one; each
# renders its section (bench/transfer/report.py, bench/migrations/report.py).
def whole_process_part(part):
    def render(results):
        data = load(results, part + ".json")
        if data is None:
            return None
        spec = importlib.util.spec_from_file_location(
            f"{part}_report", os.path.join(os.path.dirname(os.path.abspath(__file__)), part,
                                           "report.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return [mod.markdown(data), ""]
    return render


section(whole_process_part("transfer"))
section(whole_process_part("migrations"))


# ---- charts ----------------------------------------------------------------------

def chart(ops, groups, title, raw_label, path):
    """A grouped bar chart of ops/s, log scale: one group per (x label, backend,
    workload), one bar per contender."""
    rows = []
    for xlabel, backend, workload in groups:
        values = [ops.get(workload, key, backend) for key, _ in CONTENDERS]
        if any(values):
            rows.append(f'"{xlabel}" ' + " ".join("NaN" if v is None else f"{v[0]:.1f}"
                                                   for v in values))
    if not rows:
        return
    labels = [raw_label if key == "Raw" else label for key, label in CONTENDERS]
    header = '"workload" ' + " ".join(f'"{x}"' for x in labels)
    width = max(900, 150 * len(rows) + 300)
    script = "\n".join([
        f"set terminal pngcairo size {width},520 font 'sans,10'",
        f"set output '{path}'",
        f"set title '{title}: operations per second (median, log scale; higher is better)'",
        "set style data histogram", "set style histogram cluster gap 1",
        "set style fill solid 0.85 border -1", "set boxwidth 0.9",
        "set logscale y", "set yrange [10:*]", "set format y '%.0s%c'",
        "set grid ytics", "set key outside right top vertical",
        "set xtics nomirror scale 0", "set ytics nomirror", "set bmargin 4",
        "$data << EOD", header, *rows, "EOD",
        f"plot for [i=2:{len(labels) + 1}] $data using i:xtic(1) title columnheader(i)",
    ])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def charts(results):
    """ops-sqlite.png and ops-postgresql.png (the summary), ops.png (both; README.md)."""
    ops = ops_data(results)
    if ops is None:
        return
    for backend, title in BACKENDS:
        chart(ops, [(CHART_LABEL[w], backend, w) for w, _ in WORKLOADS], title,
              RAW_NAME[backend], os.path.join(results, f"ops-{backend.lower()}.png"))
    both = [(f"{title}\\n{CHART_LABEL[w]}", backend, w)
            for backend, title in BACKENDS for w, _ in WORKLOADS]
    chart(ops, both, "SQLite and PostgreSQL", "raw sqlite3 / libpq",
          os.path.join(results, "ops.png"))


# ---- README excerpt ----------------------------------------------------------------

def readme_table(results):
    """The compact per-operation tables README.md's Performance section shows."""
    ops = ops_data(results)
    out = []
    for backend, title in BACKENDS:
        out += [f"**{title}** (ops/s)", ""] + ops_table(ops, backend, compact=True) + [""]
    return "\n".join(out)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: summarize.py RESULTS_DIR [--readme]")
    results = sys.argv[1]
    if os.path.isfile(results):  # the old form: the path of ops.json
        results = os.path.dirname(os.path.abspath(results))
    if len(sys.argv) > 2 and sys.argv[2] == "--readme":
        print(readme_table(results))
        return
    parts = ["# keel benchmarks", "",
             "Written by `make bench` (scripts/run-bench → bench/summarize.py) from "
             "bench/results/*.json, on the machine named in each JSON's context.", ""]
    for fn in SECTIONS:
        lines = fn(results)
        if lines:
            parts += lines
    text = "\n".join(parts).rstrip() + "\n"
    with open(os.path.join(results, "summary.md"), "w") as f:
        f.write(text)
    charts(results)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
