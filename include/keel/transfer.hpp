// keel/transfer.hpp — move an application's data from SQLite to PostgreSQL.
//
//   keel::transfer::Options o;
//   o.from = keel::resolve_config({.explicit_url = "sqlite:////srv/app/app.db"});
//   o.to = keel::resolve_config({.explicit_url = "postgresql://app@db/app"});
//   keel::transfer::Report r = keel::transfer::transfer(o);
//
// The source is opened read-only and never written; its instance lock is held for
// the whole run so the application cannot start meanwhile. Everything on the
// target — tables, rows, sequences, the --after hook — happens in ONE PostgreSQL
// transaction that commits only after verification, so a failure or a kill leaves
// the target as it was and the run can simply be repeated. Values are coerced to
// the target column's portable type only where that is lossless (transfer/coerce.hpp),
// and every coercion is counted. Procedure and rules: docs/transfer.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "keel/config.hpp"
#include "keel/error.hpp"

namespace keel::transfer {

// How the loaded rows are proven complete before COMMIT.
enum class Verify { counts, checksums };
// What happens to a value that cannot be carried exactly.
enum class OnInvalid { fail, null, skip_row };

// "counts" / "checksums"; "fail" / "null" / "skip-row".
const char* to_string(Verify verify) noexcept;
const char* to_string(OnInvalid policy) noexcept;
// Parses what to_string writes ("skip_row" also); UsageError naming `option` otherwise.
Verify parse_verify(const std::string& text, const std::string& option = "--verify");
OnInvalid parse_on_invalid(const std::string& text, const std::string& option = "--on-invalid");

// Where a run stands, for a progress bar; reported per batch and at each table's end.
struct Progress {
  std::string table;
  std::size_t table_index = 0;  // 1-based
  std::size_t tables = 0;
  std::int64_t rows = 0;        // rows of this table written so far
  std::int64_t total_rows = 0;  // rows of this table in the source
  std::int64_t bytes = 0;       // payload bytes of this table read so far
  bool done = false;            // this table is loaded
  std::string phase;            // "load", "indexes", "constraints", "sequences", "verify", "commit"
};

struct Options {
  Config from;  // a SQLite database file
  Config to;    // a PostgreSQL database
  // A migrations directory: the source must be at its head; a target behind it (an
  // empty one included) is brought to that revision by the same history inside the
  // transaction. Empty: the source's schema is reflected and created on the target.
  std::string migrations_dir;
  // Truncate the application's tables on a non-empty target (in the transaction).
  bool force = false;
  // Without migrations: transfer even though the source has schema objects the target
  // will not get (views, triggers, expression indexes…; Report::not_carried lists them).
  // Otherwise such a source is refused before anything is written.
  bool allow_missing_objects = false;
  Verify verify = Verify::checksums;
  OnInvalid on_invalid = OnInvalid::fail;
  // JSON lines, one per value refused under OnInvalid::null / skip_row; "" for none.
  std::string rejects_file;
  // SQL run on the target inside the transaction after the load and its verification.
  std::string after_sql_file;
  // The application's instance lock on the source (keel/instance_lock.hpp).
  std::string lock_name = "keel";
  // Rows per batch handed from the SQLite reader to the PostgreSQL writer, and how
  // many batches may wait: memory is bounded by their product, not by the database.
  std::size_t batch_rows = 2000;
  std::size_t queue_batches = 4;
  // Called from the calling thread as the run advances.
  std::function<void(const Progress&)> progress;
};

// How often one coercion (or refusal) kind happened in one column.
struct ColumnCount {
  std::string column;
  std::string kind;  // a CoercionKind or RefusalKind name (transfer/coerce.hpp)
  std::int64_t count = 0;
};

struct TableReport {
  std::string name;
  std::int64_t source_rows = 0;  // rows read from SQLite
  std::int64_t rows = 0;         // rows written to PostgreSQL
  std::int64_t bytes = 0;        // payload bytes read
  double seconds = 0;
  std::vector<ColumnCount> coercions;
  std::vector<ColumnCount> refusals;  // values nulled or rows skipped by policy
  std::int64_t skipped_rows = 0;
  std::string checksum;  // "N rows, <hex>" when verified with checksums
};

// What plan() found or transfer() did.
struct Report {
  std::string source;  // redacted URLs
  std::string target;
  bool dry_run = false;
  bool created_schema = false;   // the reflected schema was created on the target
  bool migrated_target = false;  // the migration history ran on the target
  std::vector<TableReport> tables;  // in load order
  std::vector<std::string> notes;        // how the schema was adapted (defaults, NOCASE keys…)
  std::vector<std::string> not_carried;  // schema objects the target did not get
  std::string verify;               // "counts" / "checksums"
  std::int64_t rows = 0;
  std::int64_t bytes = 0;
  double seconds = 0;
  // Wall seconds of each phase after pre-flight, in the order they ran: "schema",
  // "load", "indexes", "constraints", "sequences", "verify", "after", "commit".
  std::vector<std::pair<std::string, double>> phases;
  std::int64_t peak_rss_bytes = 0;  // of this process, at the end
  // The report as one JSON object (format: docs/transfer.md).
  std::string to_json() const;
};

// A transfer failed and the target was left as it was; the message says what.
class TransferError : public Error {
 public:
  explicit TransferError(const std::string& message) : Error(ErrorKind::other, message) {}
};

// Runs the pre-flight checks and reads the source (writing nothing anywhere):
// tables in load order, row counts, and the coercions and refusals the target's
// types would need. Throws what transfer() would throw before writing.
Report plan(const Options& options);

// Transfers every application table in one PostgreSQL transaction, verified before
// COMMIT; throws (ConfigError/UsageError for bad options, AlreadyRunning when the
// source's instance lock is held, TransferError otherwise) with the target unchanged.
Report transfer(const Options& options);

}  // namespace keel::transfer
