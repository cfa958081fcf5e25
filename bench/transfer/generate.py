#!/usr/bin/python3
"""Writes the transfer benchmark's source: a SQLite database of the sessions example's
shape (examples/sessions at head, created by its migrations, plus attachments.yaml's
blob table), filled with ROWS rows in all, and optionally the same rows as CSV files
for `psql \\copy`.

  generate.py --keel build/bin/keel --rows 100000 --out DIR [--csv]

DIR receives migrations/ (the example's history and the bench revision), source.db
and, with --csv, csv/<table>.csv. Deterministic: the same ROWS give the same file.
Values are stored the way keel stores them on SQLite: text ids, ISO-8601 timestamps
ending in Z, JSON text, 0/1 booleans, exact decimals as text, blobs.
"""
import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(ROOT, "examples", "sessions", "migrations")

# Each table's share of the rows (the rest goes to hook_outbox); small tables are fixed.
SHARES = {
    "sessions": 0.05, "memory_observations": 0.25, "notification_outbox": 0.10,
    "webhook_outbox": 0.12, "pending_message_deletions": 0.05, "attachments": 0.05,
    "voice_assignments": 0.02, "memory_summaries": 0.03, "session_listeners": 0.02,
}
FIXED = {"agent_availability": 16, "webhook_contracts": 32, "system_settings": 64}


def migrations(out):
    """The example's history plus the bench revision on top of its head."""
    d = os.path.join(out, "migrations")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    ids, parents = set(), set()
    for name in sorted(os.listdir(EXAMPLE)):
        if not name.endswith((".yaml", ".yml")):
            continue
        text = open(os.path.join(EXAMPLE, name)).read()
        ids.add(re.search(r"^id:\s*(\S+)", text, re.M).group(1))
        parents.update(re.findall(r"\b([0-9a-f]{12})\b",
                                  re.search(r"^down_revision:.*$", text, re.M).group(0)))
        shutil.copy(os.path.join(EXAMPLE, name), d)
    (head,) = ids - parents
    text = open(os.path.join(HERE, "attachments.yaml")).read()
    with open(os.path.join(d, "b10b0a77ac4e_bench_attachments.yaml"), "w") as f:
        f.write(text.replace("HEAD_OF_THE_EXAMPLE", head))
    return d


def counts(total):
    n = dict(FIXED)
    rest = total - sum(FIXED.values())
    for t, share in SHARES.items():
        n[t] = int(rest * share)
    n["hook_outbox"] = total - sum(n.values())
    n["memory_summaries"] = min(n["memory_summaries"], n["sessions"])
    n["voice_assignments"] = min(n["voice_assignments"], n["sessions"])
    n["hook_outbox"] = total - sum(v for k, v in n.items() if k != "hook_outbox")
    return n


WORDS = ("session terminal agent deploy build review cache index query outbox retry "
         "listener webhook payload memory summary project observation voice channel "
         "error timeout lease worker token budget cost schema migration backend").split()


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.t0 = 1_735_689_600  # 2025-01-01T00:00:00Z
        self.texts = [self.sentence(20, 120) for _ in range(2000)]
        self.blobs = [self.r.randbytes(self.r.randint(200, 2400)) for _ in range(500)]

    def sentence(self, lo, hi):
        return " ".join(self.r.choice(WORDS) for _ in range(self.r.randint(lo // 6, hi // 6)))

    def ts(self, spread=86400 * 300):
        s = self.t0 + self.r.randrange(spread)
        us = self.r.randrange(1_000_000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{us:06d}Z"

    def maybe(self, p, v):
        return v if self.r.random() < p else None

    def payload(self):
        r = self.r
        return json.dumps({"event": r.choice(WORDS), "attempt": r.randint(0, 5),
                           "data": {"text": r.choice(self.texts), "n": r.randint(0, 10**6),
                                    "ok": r.random() < 0.5, "tags": r.sample(WORDS, 3)}})


def fill(db, n, g):
    r = g.r
    c = db.cursor()
    sids = [f"sess_{r.getrandbits(64):016x}" for _ in range(n["sessions"])]

    def ins(table, cols, rows):
        c.executemany(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES '
                      f'({", ".join("?" * len(cols))})', rows)

    def sessions():
        for sid in sids:
            status = r.choice(("active", "idle", "closed"))
            yield (sid, g.ts(), "session " + r.choice(g.texts)[:40],
                   g.maybe(0.8, json.dumps({"name": r.choice(WORDS), "cols": 120, "rows": 40,
                                            "env": {"TERM": "xterm-256color"}})),
                   f"host-{r.randrange(64)}", r.choice(("telegram", "discord", "cli", None)),
                   f"/home/u/{r.choice(WORDS)}-{r.randrange(1000)}", status, r.randint(0, 1),
                   g.maybe(0.9, f"{r.randrange(10**6) / 10**4:.4f}"), g.maybe(0.9, g.ts()),
                   g.ts() if status == "closed" else None)
    ins("sessions", ("id", "created_at", "title", "metadata", "computer_name", "origin_adapter",
                     "working_directory", "status", "is_headless", "total_cost_usd",
                     "last_activity_at", "closed_at"), sessions())

    contracts = [str(uuid.UUID(int=r.getrandbits(128), version=4)) for _ in
                 range(n["webhook_contracts"])]
    ins("webhook_contracts", ("id", "name", "url", "secret", "events", "enabled", "created_at",
                              "updated_at"),
        ((cid, f"contract-{i}", f"https://hooks.example.org/{i}", g.maybe(0.5, f"{i:032x}"),
          json.dumps(r.sample(WORDS, 3)), r.randint(0, 1), g.ts(), g.ts())
         for i, cid in enumerate(contracts)))
    ins("agent_availability", ("agent", "available", "unavailable_until", "reason", "updated_at"),
        ((f"agent-{i}", r.randint(0, 1), g.maybe(0.3, g.ts()), g.maybe(0.3, r.choice(g.texts)),
          g.ts()) for i in range(n["agent_availability"])))
    ins("system_settings", ("key", "value", "description", "updated_at"),
        ((f"setting.{i}", json.dumps({"v": r.randrange(1000), "on": r.random() < 0.5}),
          g.maybe(0.7, r.choice(g.texts)), g.ts()) for i in range(n["system_settings"])))
    ins("hook_outbox", ("session_id", "event_type", "payload", "created_at", "next_attempt_at",
                        "attempt_count", "locked_by", "locked_at", "last_error", "delivered_at"),
        ((r.choice(sids), r.choice(("stop", "notify", "start", "tool")), g.payload(), g.ts(),
          g.ts(), r.randint(0, 9), g.maybe(0.1, f"worker-{r.randrange(8)}"), g.maybe(0.1, g.ts()),
          g.maybe(0.1, r.choice(g.texts)), g.maybe(0.7, g.ts()))
         for _ in range(n["hook_outbox"])))
    ins("notification_outbox", ("session_id", "channel", "recipient", "payload", "created_at",
                                "next_attempt_at", "attempt_count", "last_error", "delivered_at"),
        ((g.maybe(0.9, r.choice(sids)), r.choice(("telegram", "mail", "push")),
          g.maybe(0.8, f"user{r.randrange(5000)}@example.org"), g.payload(), g.ts(), g.ts(),
          r.randint(0, 5), g.maybe(0.1, r.choice(g.texts)), g.maybe(0.7, g.ts()))
         for _ in range(n["notification_outbox"])))
    ins("memory_observations", ("session_id", "project", "kind", "title", "content", "tags",
                                "importance", "created_at"),
        ((g.maybe(0.9, r.choice(sids)), f"project-{r.randrange(200)}",
          r.choice(("fact", "decision", "bug", "todo")), g.maybe(0.8, r.choice(g.texts)[:60]),
          r.choice(g.texts) + " " + r.choice(g.texts) + " " + r.choice(g.texts),
          json.dumps(r.sample(WORDS, r.randint(0, 4))), r.randint(0, 10), g.ts())
         for _ in range(n["memory_observations"])))
    ins("memory_summaries", ("session_id", "project", "summary", "observation_count",
                             "summary_date", "created_at"),
        ((sid, f"project-{r.randrange(200)}", r.choice(g.texts) + " " + r.choice(g.texts),
          r.randint(0, 400), g.maybe(0.9, g.ts()[:10]), g.ts())
         for sid in sids[:n["memory_summaries"]]))
    ins("voice_assignments", ("session_id", "voice", "updated_at"),
        ((sid, r.choice(("alloy", "echo", "fable", "onyx", "nova")), g.ts())
         for sid in sids[:n["voice_assignments"]]))

    def pairs():
        seen = set()
        while len(seen) < n["session_listeners"]:
            p = (r.choice(sids), r.choice(sids))
            if p[0] != p[1] and p not in seen:
                seen.add(p)
                yield (*p, json.dumps(r.sample(("stop", "start", "notify"), r.randint(1, 3))),
                       g.ts())
    ins("session_listeners", ("session_id", "listener_session_id", "events", "created_at"),
        pairs())
    ins("pending_message_deletions", ("session_id", "adapter", "chat_id", "message_id",
                                      "delete_after", "created_at"),
        ((r.choice(sids), r.choice(("telegram", "discord")), f"chat-{i % 977}", f"msg-{i}",
          g.ts(), g.ts()) for i in range(n["pending_message_deletions"])))
    ins("webhook_outbox", ("contract_id", "session_id", "event_type", "payload", "status",
                           "attempt_count", "next_attempt_at", "last_status_code", "last_error",
                           "created_at", "delivered_at"),
        ((r.choice(contracts), g.maybe(0.9, r.choice(sids)), r.choice(("stop", "start")),
          g.payload(), r.choice(("pending", "delivered", "failed")), r.randint(0, 5), g.ts(),
          g.maybe(0.7, r.choice((200, 204, 404, 500, 503))), g.maybe(0.2, r.choice(g.texts)),
          g.ts(), g.maybe(0.6, g.ts())) for _ in range(n["webhook_outbox"])))
    ins("attachments", ("session_id", "name", "mime_type", "content", "created_at"),
        ((r.choice(sids), f"{r.choice(WORDS)}-{i}.bin", r.choice(("image/png", "application/pdf")),
          r.choice(g.blobs), g.ts()) for i in range(n["attachments"])))


def csv_value(v):
    if v is None:
        return ""  # unquoted: NULL for COPY's CSV format; "" is the empty string
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    return '"' + v.replace('"', '""') + '"'


def export_csv(path, out):
    """One CSV file per application table, its columns in SQLite's order; the column
    lists go to csv/columns.json."""
    d = os.path.join(out, "csv")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    db = sqlite3.connect(path)
    tables = [t for (t,) in db.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> 'keel_version' ORDER BY name")]
    columns = {}
    for t in tables:
        columns[t] = [c[1] for c in db.execute(f'PRAGMA table_info("{t}")')]
        with open(os.path.join(d, t + ".csv"), "w", encoding="utf-8", newline="") as f:
            for row in db.execute(f'SELECT * FROM "{t}"'):
                f.write(",".join(csv_value(v) for v in row) + "\n")
    json.dump(columns, open(os.path.join(d, "columns.json"), "w"), indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keel", required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--csv", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    mig = migrations(a.out)
    path = os.path.join(os.path.abspath(a.out), "source.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    subprocess.run([a.keel, "--url", "sqlite:///" + path, "upgrade", "head", "--migrations", mig],
                   check=True, stdout=subprocess.DEVNULL)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA foreign_keys = ON")
    n = counts(a.rows)
    with db:
        fill(db, n, Gen(a.rows))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    if a.csv:
        export_csv(path, a.out)
    print(json.dumps({"rows": sum(n.values()), "tables": n, "bytes": os.path.getsize(path)}))


if __name__ == "__main__":
    main()
