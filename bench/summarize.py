"""Turns Google Benchmark JSON into a Markdown table of medians and ratios to raw."""
import json
import sys

data = json.load(open(sys.argv[1]))
med, cv = {}, {}
for b in data["benchmarks"]:
    name = b["run_name"]
    if b.get("aggregate_name") == "median":
        med[name] = b["real_time"]
    elif b.get("aggregate_name") == "cv":
        cv[name] = b["real_time"]

def raw_for(name):
    if name.startswith("BM_PointSelect_"):
        return "BM_PointSelect_RawSqlite" if name.endswith("Sqlite") else "BM_PointSelect_RawLibpq"
    return None

print("| benchmark | median (ns/op) | spread (cv) | ops/s | ratio to raw |")
print("|---|---:|---:|---:|---:|")
for name, t in sorted(med.items()):
    raw = raw_for(name)
    ratio = f"{t / med[raw]:.2f}" if raw in med else "—"
    print(f"| {name.removeprefix('BM_')} | {t:,.0f} | {cv.get(name, 0) * 100:.1f}% | "
          f"{1e9 / t:,.0f} | {ratio} |")
