#!/usr/bin/python3
"""Workload 4: SQLite → PostgreSQL transfer as whole processes, keel vs pgloader vs
`psql \\copy`, on the generated database of the sessions example's shape.

  run.py --keel build-bench/bin/keel --pg-url postgresql://… --work DIR --out transfer.json

Every contender loads the same source into a fresh database whose schema was created
beforehand, untimed, by `keel upgrade head` (the same tables, keys, indexes, checks and
foreign keys for all):
  keel_checksums  `keel transfer --migrations …` (verify=checksums, the default)
  keel_counts     the same with --verify counts
  pgloader        Debian's pgloader, `data only, drop indexes, reset sequences`, with
                  a 4 GiB heap (its default 1 GiB runs out at 1M rows)
  copy            `psql -1 -f` of one \\copy per table from CSV files exported
                  beforehand (untimed), foreign keys and secondary indexes dropped
                  beforehand and rebuilt in the timed script, identities reset — the
                  best a user does by hand.
Contenders are interleaved (a different order each repetition); wall time, rows/s,
MB/s (source file size / time) and the process's peak RSS (wait4) per run, median and
spread per contender, and the CPU seconds of the client process and of the server
meanwhile (a local server: the postmaster's reaped children). Sizes, repetitions and
contenders: KEEL_BENCH_TRANSFER_SIZES, default
"100000:5,1000000:2:keel_checksums+pgloader+copy+floor" (rows:repetitions[:contenders]).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "sessions",
                       "migrations")
CONTENDERS = {
    "keel_checksums": "keel transfer (verify=checksums)",
    "keel_counts": "keel transfer (verify=counts)",
    "pgloader": "pgloader",
    "copy": "psql \\copy from CSV",
    "floor": "floor: server only (psql binary \\copy + rebuild + read-back)",
}


SHORT = {"keel_checksums": "keel (checksums)", "keel_counts": "keel (counts)",
         "pgloader": "pgloader", "copy": "psql copy (CSV)", "floor": "server floor"}


# At 1M rows verify=counts is left out: make bench must stay under 20 minutes.
ONE_MILLION = "keel_checksums+pgloader+copy+floor"


def log(msg):
    print(f"[transfer] {msg}", file=sys.stderr, flush=True)


def psql(url, sql, *extra):
    return subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", *extra,
                           "-d", url, "-c", sql], check=True, capture_output=True,
                          text=True).stdout


def db_url(base, name):
    head, _, rest = base.partition("?")
    return head.rsplit("/", 1)[0] + "/" + name + ("?" + rest if rest else "")


def server_cpu(pid):
    """CPU seconds of the PostgreSQL server so far: the postmaster's own and its
    exited children's (the backends a contender used, once it disconnected)."""
    if pid is None:
        return 0.0
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")


def timed(cmd, log_path, postmaster):
    """Runs cmd: wall seconds, the child's peak RSS in bytes, its exit status, its CPU
    seconds and the server's CPU seconds meanwhile."""
    before = server_cpu(postmaster)
    with open(log_path, "w") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    time.sleep(0.3)  # the backends exit after their client did
    return (wall, usage.ru_maxrss * 1024, p.returncode, usage.ru_utime + usage.ru_stime,
            server_cpu(postmaster) - before)


def find_postmaster(url):
    """The local server's postmaster pid (first line of postmaster.pid), or None."""
    try:
        data = psql(url, "SELECT current_setting('data_directory')").strip()
        with open(os.path.join(data, "postmaster.pid")) as f:
            pid = int(f.readline())
        server_cpu(pid)
        return pid
    except (OSError, ValueError, subprocess.CalledProcessError):
        return None  # a remote server, or not ours to read: no server CPU figures


class Size:
    def __init__(self, a, rows):
        self.a = a
        self.rows = rows
        self.dir = os.path.join(a.work, f"rows-{rows}")
        self.db = os.path.join(self.dir, "source.db")
        self.mig = os.path.join(self.dir, "migrations")
        self.csv = os.path.join(self.dir, "csv")
        self.bin = os.path.join(self.dir, "binary")

    def generate(self):
        stamp = os.path.join(self.dir, "generated.json")
        gen = os.path.join(HERE, "generate.py")
        inputs = [gen, os.path.join(HERE, "attachments.yaml"), EXAMPLE] + [
            os.path.join(EXAMPLE, f) for f in os.listdir(EXAMPLE)]
        if os.path.exists(stamp) and os.path.getmtime(stamp) > max(map(os.path.getmtime, inputs)):
            self.info = json.load(open(stamp))
            log(f"{self.rows} rows: reusing {self.db}")
            return
        log(f"{self.rows} rows: generating {self.db} and its CSV export")
        out = subprocess.run([sys.executable, gen, "--keel", self.a.keel, "--rows",
                              str(self.rows), "--out", self.dir, "--csv"], check=True,
                             capture_output=True, text=True).stdout
        self.info = json.loads(out)
        json.dump(self.info, open(stamp, "w"))

    def export_binary(self):
        """The rows as PostgreSQL's binary COPY files, exported (untimed) from a target
        keel loaded, for the floor contender; kept while the source is unchanged."""
        stamp = os.path.join(self.bin, "exported.json")
        if os.path.exists(stamp) and os.path.getmtime(stamp) > os.path.getmtime(self.db):
            return
        log(f"{self.rows} rows: exporting binary COPY files for the floor")
        os.makedirs(self.bin, exist_ok=True)
        name = "keel_bench_transfer_export"
        url = self.fresh(name)
        subprocess.run([self.a.keel, "transfer", "--from", "sqlite:///" + os.path.abspath(self.db),
                        "--to", url, "--migrations", self.mig, "--verify", "counts"],
                       check=True, capture_output=True)
        for t in self.info["tables"]:
            psql(url, f"\\copy \"{t}\" TO '{os.path.join(self.bin, t + '.bin')}' "
                      "WITH (FORMAT binary)")
        psql(self.a.pg_url, f'DROP DATABASE "{name}"')
        json.dump(self.info["tables"], open(stamp, "w"))

    def fresh(self, name):
        """A new database at the history's head, no rows."""
        admin = self.a.pg_url
        psql(admin, f'DROP DATABASE IF EXISTS "{name}"')
        psql(admin, f'CREATE DATABASE "{name}"')
        url = db_url(admin, name)
        subprocess.run([self.a.keel, "--url", url, "upgrade", "head", "--migrations", self.mig],
                       check=True, capture_output=True)
        return url

    def copy_script(self, url, path):
        """Drops the target's foreign keys and secondary indexes (untimed) and writes the
        timed script: \\copy per table, the indexes and foreign keys back, identities
        past the loaded keys."""
        fks = psql(url, "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, "
                        "conname) || E'\\t' || format('ALTER TABLE %s ADD CONSTRAINT %I %s', "
                        "conrelid::regclass, conname, pg_get_constraintdef(oid)) "
                        "FROM pg_constraint WHERE contype = 'f' AND "
                        "connamespace = 'public'::regnamespace").splitlines()
        idx = psql(url, "SELECT format('DROP INDEX %I', indexname) || E'\\t' || indexdef "
                        "FROM pg_indexes i WHERE schemaname = 'public' AND NOT EXISTS ("
                        "SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                        "format('%I.%I', i.schemaname, i.indexname)::regclass)").splitlines()
        ids = psql(url, "SELECT format('SELECT setval(pg_get_serial_sequence(%L, %L), "
                        "coalesce(max(%I), 0) + 1, false) FROM %I;', quote_ident(table_name), "
                        "column_name, column_name, table_name) FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND is_identity = 'YES'").splitlines()
        for line in fks + idx:
            psql(url, line.split("\t")[0])
        columns = json.load(open(os.path.join(self.csv, "columns.json")))
        with open(path, "w") as f:
            for t, cols in columns.items():
                f.write(f'\\copy "{t}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                        f"FROM '{os.path.join(self.csv, t + '.csv')}' WITH (FORMAT csv)\n")
            for line in idx + fks:
                f.write(line.split("\t")[1] + ";\n")
            for line in ids:
                f.write(line + "\n")

    def floor_script(self, url, path):
        """Drops every foreign key, key and index of the tables (untimed) and writes the
        timed script: binary \\copy per table, keys, indexes and foreign keys back (in
        keel's order), identities past the loaded keys, every table read back."""
        def constraints(kinds):
            return psql(url, "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, "
                             "conname) || E'\\t' || format('ALTER TABLE %s ADD CONSTRAINT %I %s', "
                             "conrelid::regclass, conname, pg_get_constraintdef(oid)) FROM "
                             f"pg_constraint WHERE contype IN ({kinds}) AND connamespace = "
                             "'public'::regnamespace AND conrelid <> 'keel_version'::regclass"
                             ).splitlines()
        fks, keys = constraints("'f'"), constraints("'p', 'u'")
        idx = psql(url, "SELECT format('DROP INDEX %I', indexname) || E'\\t' || indexdef "
                        "FROM pg_indexes i WHERE schemaname = 'public' AND tablename <> "
                        "'keel_version' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE "
                        "c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)"
                        ).splitlines()
        ids = psql(url, "SELECT format('SELECT setval(pg_get_serial_sequence(%L, %L), "
                        "coalesce(max(%I), 0) + 1, false) FROM %I;', quote_ident(table_name), "
                        "column_name, column_name, table_name) FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND is_identity = 'YES'").splitlines()
        for line in fks + keys + idx:
            psql(url, line.split("\t")[0])
        with open(path, "w") as f:
            f.write("SET maintenance_work_mem = '256MB';\n")
            for t in self.info["tables"]:
                f.write(f'\\copy "{t}" FROM \'{os.path.join(self.bin, t + ".bin")}\' '
                        "WITH (FORMAT binary)\n")
            for line in keys + idx + fks:
                f.write(line.split("\t")[1] + ";\n")
            for line in ids:
                f.write(line + "\n")
            for t in self.info["tables"]:
                f.write(f'\\copy (SELECT * FROM "{t}") TO \'/dev/null\' WITH (FORMAT binary)\n')

    def command(self, who, url, scratch):
        src = "sqlite:///" + os.path.abspath(self.db)
        if who.startswith("keel_"):
            return [self.a.keel, "transfer", "--from", src, "--to", url, "--migrations",
                    self.mig, "--verify", who.removeprefix("keel_")]
        if who == "pgloader":
            load = os.path.join(scratch, "pgloader.load")
            with open(load, "w") as f:
                f.write(f"LOAD DATABASE\n  FROM sqlite://{os.path.abspath(self.db)}\n"
                        f"  INTO {url}\n"
                        "WITH data only, drop indexes, reset sequences\n"
                        "EXCLUDING TABLE NAMES LIKE 'keel_version', 'sqlite_sequence';\n")
            # Its default 1 GiB heap is exhausted at 1M rows ("Heap exhausted, game over")
            # in some runs; an SBCL runtime option, so it goes first.
            return ["pgloader", "--dynamic-space-size", "4096", load]
        if who == "floor":
            script = os.path.join(scratch, "floor.sql")
            self.floor_script(url, script)
            return ["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", script]
        script = os.path.join(scratch, "copy.sql")
        self.copy_script(url, script)
        return ["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", script]

    def loaded_rows(self, url):
        tables = self.info["tables"]
        return int(psql(url, "SELECT " + " + ".join(
            f'(SELECT count(*) FROM "{t}")' for t in tables)))

    def run(self, reps, contenders):
        runs = {c: [] for c in contenders}
        scratch = os.path.join(self.dir, "scratch")
        os.makedirs(scratch, exist_ok=True)
        for rep in range(reps):
            order = contenders[rep % len(contenders):] + contenders[:rep % len(contenders)]
            for who in order:
                name = f"keel_bench_transfer_{who}"
                url = self.fresh(name)
                cmd = self.command(who, url, scratch)
                wall, rss, rc, cpu, srv = timed(cmd, os.path.join(scratch, f"{who}.log"),
                                                self.a.postmaster)
                ok = rc == 0 and self.loaded_rows(url) == self.info["rows"]
                runs[who].append({"seconds": round(wall, 4), "peak_rss_bytes": rss,
                                  "client_cpu_s": round(cpu, 3), "server_cpu_s": round(srv, 3),
                                  "exit": rc, "ok": ok})
                log(f"{self.rows} rows, rep {rep + 1}/{reps}: {who:<15} {wall:7.2f} s  "
                    f"{self.info['rows'] / wall:>9,.0f} rows/s  RSS {rss / 2**20:6.1f} MiB  "
                    f"CPU client {cpu:5.2f} s server {srv:5.2f} s"
                    + ("" if ok else f"  FAILED (exit {rc}; see {scratch}/{who}.log)"))
                psql(self.a.pg_url, f'DROP DATABASE "{name}"')
        result = {"rows": self.info["rows"], "source_bytes": self.info["bytes"],
                  "tables": self.info["tables"], "repetitions": reps, "contenders": {}}
        for who, rs in runs.items():
            good = [r["seconds"] for r in rs if r["ok"]]
            c = {"label": CONTENDERS[who], "runs": rs, "failed_runs": len(rs) - len(good)}
            if good:
                med = statistics.median(good)
                c.update(median_s=med, min_s=min(good), max_s=max(good),
                         cv=statistics.pstdev(good) / statistics.mean(good),
                         rows_per_s=self.info["rows"] / med,
                         mb_per_s=self.info["bytes"] / 1e6 / med,
                         peak_rss_bytes=max(r["peak_rss_bytes"] for r in rs if r["ok"]),
                         client_cpu_s=statistics.median(r["client_cpu_s"] for r in rs if r["ok"]),
                         server_cpu_s=statistics.median(r["server_cpu_s"] for r in rs if r["ok"]))
            result["contenders"][who] = c
        return result


def chart(data, png):
    """Rows/s per contender and size, as grouped bars."""
    sizes = data["sizes"]
    dat = png.removesuffix(".png") + ".dat"
    with open(dat, "w") as f:
        for who, label in SHORT.items():
            vals = [str(s["contenders"].get(who, {}).get("rows_per_s", 0)) for s in sizes]
            f.write("\t".join([label] + vals) + "\n")
    plot = ", ".join(f"'{dat}' using {i + 2}:xtic(1) title '{s['rows']:,} rows'"
                     for i, s in enumerate(sizes))
    script = f"""set terminal pngcairo size 900,480 noenhanced
set output '{png}'
set title 'SQLite -> PostgreSQL transfer: rows/s (median, higher is better)'
set datafile separator tab
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel 'rows/s'
set format y '%.0f'
set yrange [0:*]
set grid ytics
set key below
plot {plot}
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        # pngcairo is missing from gnuplot-nox builds without cairo: the plain png terminal.
        r = subprocess.run(["gnuplot"], input=script.replace("pngcairo", "png"), text=True,
                           capture_output=True)
    os.remove(dat)
    if r.returncode != 0:
        log("gnuplot failed: " + r.stderr.strip())


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keel", required=True)
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--png")
    ap.add_argument("--sizes", default=os.environ.get("KEEL_BENCH_TRANSFER_SIZES",
                                                      "100000:5,1000000:2:" + ONE_MILLION))
    a = ap.parse_args()
    a.keel = os.path.abspath(a.keel)
    a.postmaster = find_postmaster(a.pg_url)
    data = {"workload": "transfer", "machine": {
        "cpus": os.cpu_count(), "kernel": platform.release(),
        "postgresql": psql(a.pg_url, "SHOW server_version").strip(),
        "pgloader": version(["pgloader", "--version"]),
        "psql": version(["psql", "--version"])}, "sizes": []}
    for spec in a.sizes.split(","):
        rows, reps, who = (spec.split(":") + ["3", ""][len(spec.split(":")) - 1:])[:3]
        size = Size(a, int(rows))
        size.generate()
        if "floor" in (who.split("+") if who else CONTENDERS):
            size.export_binary()
        data["sizes"].append(size.run(int(reps), who.split("+") if who else list(CONTENDERS)))
        with open(a.out, "w") as f:  # after each size: a partial run still leaves figures
            json.dump(data, f, indent=1)
    if a.png:
        chart(data, a.png)


if __name__ == "__main__":
    main()
