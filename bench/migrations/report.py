"""The "Migrations" section of bench/results/summary.md, from migrations.json (run.py)."""

WORK = {"upgrade": "upgrade head, fresh database",
        "autogenerate": "revision --autogenerate, database at head, nothing to change"}


def markdown(data):
    out = ["## Migrations: keel vs Alembic, whole processes (workload 5)", "",
           f"`keel upgrade head` of `{data['history']}` ({data['revisions']} revisions) vs "
           "`alembic upgrade head` of `bench/migrations/alembic` (the same revisions with "
           "`op.*`, `batch_alter_table` on SQLite); `keel revision --autogenerate` vs `alembic "
           "revision --autogenerate` against the equivalent SQLAlchemy model. "
           f"{data['repetitions']} repetitions, alternating order; {data['alembic']}. "
           "Each tool runs with its defaults: on SQLite keel uses WAL with synchronous=NORMAL, "
           "Alembic (pysqlite) a rollback journal with synchronous=FULL and an fsync per "
           "commit. Target: keel upgrade ≥ 20× faster than Alembic's.", "",
           "**floor** is a lower bound for any tool applying the history: on SQLite the "
           "sqlite3 shell running the SQL `keel upgrade head --sql` prints (WAL, "
           "synchronous=NORMAL) as a whole process; on PostgreSQL one libpq connection "
           "(in-process, no process start) plus the server's own time for that SQL sent as "
           "one query, committed as keel commits it (one WAL flush, for the last revision). "
           "**needed** is Alembic's median over 20: the most keel may take.", "",
           "| backend | work | keel median (s) | keel min–max | Alembic median (s) | "
           "Alembic min–max | Alembic / keel | floor (s) | needed (s) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    verdicts = []
    for backend, works in data["backends"].items():
        for work, r in works.items():
            k, a, fl = r["keel"], r["alembic"], r.get("floor")
            x = a["median_s"] / k["median_s"]
            floor = f"{fl['median_s']:.3f}" if fl else "—"
            needed = f"{a['median_s'] / 20:.3f}" if work == "upgrade" else "—"
            out.append(f"| {backend} | {WORK[work]} | {k['median_s']:.3f} | {k['min_s']:.3f}–"
                       f"{k['max_s']:.3f} | {a['median_s']:.3f} | {a['min_s']:.3f}–"
                       f"{a['max_s']:.3f} | {x:.1f}× | {floor} | {needed} |")
            if work == "upgrade":
                v = f"{backend} {x:.1f}× ({'met' if x >= 20 else 'missed'}"
                if fl and fl["median_s"] > a["median_s"] / 20:
                    v += f"; out of reach here: the floor alone takes {fl['median_s']:.3f} s"
                verdicts.append(v + ")")
    out += ["", "Upgrade target (≥ 20×): " + "; ".join(verdicts) + ".", ""]
    return "\n".join(out)
