"""The "Transfer" section of bench/results/summary.md, from transfer.json (run.py)."""

MIB = 2**20


def markdown(data):
    out = ["## Transfer: SQLite → PostgreSQL, whole processes (workload 4)", "",
           "The sessions example's schema at head plus a blob table, generated rows (text ids, "
           "ISO timestamps, JSON, 0/1 booleans, decimals as text, blobs), loaded into a fresh "
           "database whose schema `keel upgrade head` created beforehand, untimed.",
           "",
           "- pgloader: `data only, drop indexes, reset sequences`, with a 4 GiB heap: with "
           "its default 1 GiB it crashes at 1M rows in some runs (\"Heap exhausted, game "
           "over\"). Its sequence reset does not see identity columns (they still start at 1 "
           "afterwards), so it does a little less than the others.",
           "- `\\copy`: CSV exported beforehand (untimed); foreign keys and secondary indexes "
           "dropped beforehand and rebuilt in the timed `psql -1` script; identities reset.",
           "- keel: `keel transfer --migrations …` — one transaction: every index and foreign "
           "key of the tables dropped, binary COPY fed by a SQLite reader thread, indexes and "
           "foreign keys built again, then (verify=checksums) every row read back by a binary "
           "COPY out and checksummed against the source's, before COMMIT.",
           "- floor: what the PostgreSQL server alone takes for the work keel's transfer makes "
           "it do, with no client work at all — `psql -1` of a binary `\\copy` per table from "
           "files exported beforehand (untimed) from a keel-loaded target, every key, index and "
           "foreign key dropped beforehand and rebuilt in the timed script, identities reset, "
           "and every table read back by a binary `\\copy … TO '/dev/null'` (what "
           "verify=checksums reads). All of keel's server work happens in one transaction, so "
           "one backend process: no transfer that verifies what it wrote can finish before it.",
           "- MB/s is the SQLite file's size over the wall time. Peak RSS is the client "
           "process's (`psql`'s is small: the server parses the CSV). CPU is the client "
           "process's and the local server's (its exited backends) during the run, medians.",
           "- Targets: keel ≥ 3× pgloader's rows/s, faster than `\\copy`, peak RSS < 100 MiB.",
           ""]
    for s in data["sizes"]:
        c = s["contenders"]
        out += [f"### {s['rows']:,} rows, {s['source_bytes'] / 1e6:,.0f} MB SQLite file, "
                f"{s['repetitions']} repetition{'s' if s['repetitions'] != 1 else ''}", "",
                "| contender | median (s) | min–max (s) | rows/s | MB/s | peak RSS (MiB) | "
                "CPU client / server (s) | vs pgloader | vs \\copy | time / floor |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for who, r in c.items():
            if "median_s" not in r:
                out.append(f"| {r['label']} | failed ({r['failed_runs']} of {len(r['runs'])} "
                           "runs) | | | | | | | | |")
                continue

            def floor_ratio(r):
                f = c.get("floor", {})
                return f"{r['median_s'] / f['median_s']:.2f}" if "median_s" in f else "—"

            def ratio(other):
                o = c.get(other, {})
                return f"{r['rows_per_s'] / o['rows_per_s']:.2f}×" if "rows_per_s" in o else "—"
            failed = f" ({r['failed_runs']} runs failed)" if r["failed_runs"] else ""
            out.append(f"| {r['label']}{failed} | {r['median_s']:.2f} | {r['min_s']:.2f}–"
                       f"{r['max_s']:.2f} | {r['rows_per_s']:,.0f} | {r['mb_per_s']:.1f} | "
                       f"{r['peak_rss_bytes'] / MIB:.0f} | {r['client_cpu_s']:.1f} / "
                       f"{r['server_cpu_s']:.1f} | {ratio('pgloader')} | {ratio('copy')} | "
                       f"{floor_ratio(r)} |")
        out.append("")
        k, p, cp = c.get("keel_checksums", {}), c.get("pgloader", {}), c.get("copy", {})
        if "rows_per_s" in k:
            verdicts = []
            if "rows_per_s" in p:
                x = k["rows_per_s"] / p["rows_per_s"]
                verdicts.append(f"keel vs pgloader {x:.2f}× ({'met' if x >= 3 else 'missed'}: ≥ 3×)")
            if "rows_per_s" in cp:
                x = k["rows_per_s"] / cp["rows_per_s"]
                verdicts.append(f"keel vs \\copy {x:.2f}× ({'met' if x > 1 else 'missed'}: > 1×)")
            fl = c.get("floor", {})
            if "median_s" in fl and "median_s" in p:
                need = p["median_s"] / 3
                verdicts.append(f"the server floor takes {fl['median_s']:.2f} s where 3× pgloader "
                                f"needs ≤ {need:.2f} s ({'within reach' if fl['median_s'] < need else 'out of reach on this machine'}); "
                                f"keel takes {k['median_s'] / fl['median_s']:.2f}× the floor's time")
            rss = k["peak_rss_bytes"] / MIB
            verdicts.append(f"keel peak RSS {rss:.0f} MiB ({'met' if rss < 100 else 'missed'}: "
                            "< 100 MiB)")
            out += ["Targets (keel, verify=checksums): " + "; ".join(verdicts) + ".", ""]
    out += ["![transfer rows/s](transfer.png)", ""]
    return "\n".join(out)
