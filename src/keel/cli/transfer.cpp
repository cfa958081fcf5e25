// cli/transfer.cpp — `keel transfer`: SQLite to PostgreSQL in one transaction,
// verified; progress while it runs, a summary and the rollback instructions after.
#include "keel/transfer.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "common.hpp"
#include "keel/error.hpp"

namespace keel::cli {
namespace {

constexpr int kExitLocked = 3;  // the source's instance lock is held: stop the application

struct TransferOptions {
  std::string from, to, migrations, verify = "checksums", on_invalid = "fail", rejects, after,
      report, lock;
  bool force = false;
  bool dry_run = false;
  bool allow_missing_objects = false;
};

std::string human_bytes(std::int64_t n) {
  if (n >= (1 << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1 << 30));
  if (n >= (1 << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
  if (n >= 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  return fmt::format("{} B", n);
}

// A bar per table on a terminal; a line every few seconds (and per table) otherwise.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : tty_(!quiet && ::isatty(STDERR_FILENO) != 0), quiet_(quiet) {}

  void operator()(const transfer::Progress& p) {
    if (quiet_) return;
    auto now = std::chrono::steady_clock::now();
    if (p.table.empty()) {
      std::cerr << fmt::format("{}{}...\n", tty_ ? "\r\033[K" : "", p.phase);
      return;
    }
    if (p.table != table_) {
      table_ = p.table;
      started_ = now;
      last_ = tty_ ? std::chrono::steady_clock::time_point{} : now;
    }
    double secs = std::chrono::duration<double>(now - started_).count();
    double rate = secs > 0 ? static_cast<double>(p.rows) / secs : 0;
    if (tty_) {
      if (!p.done && now - last_ < std::chrono::milliseconds(100)) return;
      last_ = now;
      double frac = p.total_rows > 0 ? static_cast<double>(p.rows) / static_cast<double>(p.total_rows) : 1;
      if (frac > 1) frac = 1;
      int filled = static_cast<int>(frac * 30);
      double eta = rate > 0 ? static_cast<double>(p.total_rows - p.rows) / rate : 0;
      std::cerr << fmt::format("\r\033[K[{}/{}] {:<24} [{}{}] {}/{} rows {:.0f} rows/s ETA {:.0f}s",
                               p.table_index, p.tables, p.table, std::string(filled, '#'),
                               std::string(30 - filled, '.'), p.rows, p.total_rows, rate,
                               eta < 0 ? 0 : eta);
      if (p.done) std::cerr << '\n';
    } else {
      if (!p.done && now - last_ < std::chrono::seconds(5)) return;
      last_ = now;
      std::cerr << fmt::format("[{}/{}] {}: {}/{} rows, {:.0f} rows/s{}\n", p.table_index,
                               p.tables, p.table, p.rows, p.total_rows, rate,
                               p.done ? ", done" : "");
    }
  }

 private:
  bool tty_, quiet_;
  std::string table_;
  std::chrono::steady_clock::time_point started_{}, last_{};
};

void print_summary(const transfer::Report& r) {
  std::cout << fmt::format("{:<32} {:>10} {:>10} {:>8}  {}\n", "table", "rows", "bytes", "time",
                           "coercions");
  for (const auto& t : r.tables) {
    std::string coercions;
    for (const auto& c : t.coercions)
      coercions += fmt::format("{}{}.{}:{}={}", coercions.empty() ? "" : " ", t.name, c.column,
                               c.kind, c.count);
    for (const auto& c : t.refusals)
      coercions += fmt::format("{}REFUSED {}.{}:{}={}", coercions.empty() ? "" : " ", t.name,
                               c.column, c.kind, c.count);
    std::cout << fmt::format("{:<32} {:>10} {:>10} {:>7.2f}s  {}\n", t.name, t.rows,
                             human_bytes(t.bytes), t.seconds, coercions.empty() ? "-" : coercions);
  }
  std::cout << fmt::format("{:<32} {:>10} {:>10} {:>7.2f}s  peak RSS {}\n", "total", r.rows,
                           human_bytes(r.bytes), r.seconds, human_bytes(r.peak_rss_bytes));
  for (const auto& n : r.notes) std::cout << "note: " << n << '\n';
  if (!r.not_carried.empty()) {
    // Said last and loud: the operator must recreate these by hand.
    std::cout << fmt::format("NOT CARRIED ({} schema object(s) the target does not have; "
                             "recreate them on PostgreSQL):\n",
                             r.not_carried.size());
    for (const auto& n : r.not_carried) std::cout << "  NOT CARRIED: " << n << '\n';
  }
}

int run_transfer(const Globals& globals, const TransferOptions& o) {
  transfer::Options options;
  // keel.yaml (--config, or ./keel.yaml) is the application's: its database is the
  // default source, its migrations and instance-lock name the defaults. DATABASE_URL
  // is not read: during a move it may already name the target.
  Config app = resolve_config(
      {.file = config_file(globals), .use_environment = false, .explicit_url = {}});
  if (o.from.empty() && app.url_source == "default")
    throw UsageError("--from is required (or a keel.yaml whose database is the source)");
  options.from = o.from.empty() ? app
                                : resolve_config({.file = {}, .use_environment = false,
                                                  .explicit_url = o.from,
                                                  .explicit_label = "--from"});
  options.to = resolve_config({.file = {}, .use_environment = false, .explicit_url = o.to,
                               .explicit_label = "--to"});
  options.migrations_dir = o.migrations.empty() ? app.migrations_dir : o.migrations;
  options.lock_name = app.instance_lock;
  options.force = o.force;
  options.allow_missing_objects = o.allow_missing_objects;
  options.verify = transfer::parse_verify(o.verify);
  options.on_invalid = transfer::parse_on_invalid(o.on_invalid);
  if (!o.rejects.empty() && options.on_invalid == transfer::OnInvalid::fail)
    throw UsageError("--rejects needs --on-invalid null or skip-row");
  options.rejects_file = o.rejects;
  options.after_sql_file = o.after;
  if (!o.lock.empty()) options.lock_name = o.lock;
  ProgressPrinter printer(globals.json);
  options.progress = [&](const transfer::Progress& p) { printer(p); };

  transfer::Report report;
  try {
    report = o.dry_run ? transfer::plan(options) : transfer::transfer(options);
  } catch (const AlreadyRunning& e) {
    print_error(fmt::format("{}\nStop the application that uses {} before transferring it.",
                            e.what(), options.from.url.redacted()));
    return kExitLocked;
  } catch (const ConfigError&) {
    throw;
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    print_error(fmt::format(
        "transfer failed: {}\nThe target was rolled back and the source was not touched: "
        "point the application back at {} (or fix the cause and run the same command again).",
        e.what(), options.from.url.redacted()));
    return kExitFailed;
  }
  if (!o.report.empty()) {
    std::ofstream out(o.report, std::ios::trunc);
    out << report.to_json() << '\n';
    if (!out) throw ConfigError(fmt::format("--report {}: cannot be written", o.report));
  }
  if (globals.json) {
    std::cout << report.to_json() << '\n';
    return kExitOk;
  }
  if (o.dry_run) {
    std::cout << fmt::format("Plan (nothing written): {} → {}, {} tables in load order{}\n",
                             report.source, report.target, report.tables.size(),
                             report.created_schema    ? ", schema to be created from the source"
                             : report.migrated_target ? ", target to be migrated to the source's "
                                                        "revision"
                                                      : "");
    print_summary(report);
    for (const auto& t : report.tables)
      if (!t.refusals.empty() && options.on_invalid == transfer::OnInvalid::fail)
        std::cout << fmt::format("table {} has values that cannot be carried exactly: the "
                                 "transfer would fail (see --on-invalid)\n",
                                 t.name);
    return kExitOk;
  }
  print_summary(report);
  std::cout << fmt::format(
      "Committed and verified ({}). The source {} was not touched: to go back, point the "
      "application at it again; to go forward, point it at {}.\n",
      report.verify, report.source, report.target);
  return kExitOk;
}

Verb transfer_verb() {
  auto o = std::make_shared<TransferOptions>();
  Verb verb;
  verb.name = "transfer";
  verb.summary = "Copy a SQLite database into PostgreSQL in one transaction, verified";
  verb.details =
      "Reads the source read-only under its instance lock, creates (or checks) the schema on\n"
      "the target, streams every table through COPY, sets identity sequences, verifies\n"
      "counts and checksums, then commits; any failure rolls everything back.\n"
      "Schema objects it cannot carry (views, triggers, expression indexes, generated\n"
      "columns) make it refuse unless --allow-missing-objects, which lists them.\n"
      "Exit 3: the source's instance lock is held (stop the application first).";
  verb.args = {
      {"--from", "Source SQLite database URL (sqlite:///…; default: keel.yaml's database)",
       &o->from, false, "URL"},
      {"--to", "Target PostgreSQL URL (postgresql://…)", &o->to, true, "URL"},
      {"--migrations",
       "Migrations directory: source at head; the target is migrated to it in the transaction",
       &o->migrations, false, "DIR"},
      {"--force", "Truncate the application's tables on a non-empty target", &o->force, false, ""},
      {"--allow-missing-objects",
       "Transfer although views, triggers… of the source cannot be carried (listed)",
       &o->allow_missing_objects, false, ""},
      {"--dry-run", "Print the plan (tables, rows, coercions) and write nothing", &o->dry_run, false, ""},
      {"--verify", "counts | checksums (default checksums)", &o->verify, false, "KIND"},
      {"--on-invalid", "fail (default) | null | skip-row for values that cannot be carried",
       &o->on_invalid, false, "POLICY"},
      {"--rejects", "JSON-lines file for values set aside by --on-invalid", &o->rejects, false,
       "FILE"},
      {"--after", "SQL file run on the target inside the transaction, after verification",
       &o->after, false, "FILE.sql"},
      {"--report", "Write the JSON report to FILE", &o->report, false, "FILE"},
      {"--lock", "The application's instance-lock name (default: keel.yaml's instance_lock, "
                 "else keel)",
       &o->lock, false, "NAME"},
  };
  verb.run = [o](const Globals& globals) {
    return run_guarded([&] { return run_transfer(globals, *o); });
  };
  return verb;
}

[[maybe_unused]] const bool registered = register_verb(transfer_verb);

}  // namespace
}  // namespace keel::cli
