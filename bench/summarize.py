"""Turns Google Benchmark JSON into Markdown tables of medians and ratios to raw."""
import json
import sys

data = json.load(open(sys.argv[1]))
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
med, cv, rows = {}, {}, {}
for b in data["benchmarks"]:
    name = b["run_name"].split("/")[0]  # without /iterations:1/real_time
    if b.get("aggregate_name") == "median":
        med[name] = b["real_time"] * UNIT_NS[b.get("time_unit", "ns")]
        if "rows" in b:
            rows[name] = b["rows"]
    elif b.get("aggregate_name") == "cv":
        cv[name] = b["real_time"]

def raw_for(name):
    if name.startswith("BM_PointSelect_"):
        return "BM_PointSelect_RawSqlite" if name.endswith("Sqlite") else "BM_PointSelect_RawLibpq"
    return None

print("| benchmark | median (ns/op) | spread (cv) | ops/s | ratio to raw |")
print("|---|---:|---:|---:|---:|")
for name, t in sorted(med.items()):
    if name.startswith("BM_BulkLoad_"):
        continue
    raw = raw_for(name)
    ratio = f"{t / med[raw]:.2f}" if raw in med else "—"
    print(f"| {name.removeprefix('BM_')} | {t:,.0f} | {cv.get(name, 0) * 100:.1f}% | "
          f"{1e9 / t:,.0f} | {ratio} |")

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
if any(b[2] in med for b in BULK):
    n = next(rows[b[2]] for b in BULK if b[2] in rows)
    print()
    print(f"### Bulk load: {n:,.0f} narrow rows in one transaction")
    print()
    print("| backend | contender | median (ms) | spread (cv) | rows/s | share of raw rows/s |")
    print("|---|---|---:|---:|---:|---:|")
    for backend, label, name, raw in BULK:
        if name not in med:
            continue
        t = med[name]
        share = f"{med[raw] / t:.2f}" if raw in med else "—"
        print(f"| {backend} | {label} | {t / 1e6:,.0f} | {cv.get(name, 0) * 100:.1f}% | "
              f"{rows.get(name, n) / (t / 1e9):,.0f} | {share} |")
