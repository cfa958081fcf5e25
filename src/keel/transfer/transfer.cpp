// transfer/transfer.cpp — plan() and transfer(): pre-flight, one PostgreSQL
// transaction, a SQLite reader thread feeding binary COPY through a bounded
// queue, sequences, verification, COMMIT.
//
// Foreign keys: the target's foreign keys on the application's tables are dropped
// at the start of the transaction and added back after the load, so cycles and
// self-references need no ordering trick; ADD CONSTRAINT checks every row before
// COMMIT. Tables still load parents first, which keeps the order readable.
#include "keel/transfer.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "dialect/reflect.hpp"
#include "keel/connection.hpp"
#include "keel/database.hpp"
#include "keel/dialect.hpp"
#include "keel/instance_lock.hpp"
#include "keel/migrate.hpp"
#include "keel/schema.hpp"
#include "transfer/checksum.hpp"
#include "transfer/coerce.hpp"
#include "transfer/forms.hpp"
#include "transfer/pipeline.hpp"

namespace keel::transfer {

const char* to_string(Verify verify) noexcept {
  return verify == Verify::counts ? "counts" : "checksums";
}

const char* to_string(OnInvalid policy) noexcept {
  switch (policy) {
    case OnInvalid::fail: return "fail";
    case OnInvalid::null: return "null";
    case OnInvalid::skip_row: return "skip-row";
  }
  return "fail";
}

Verify parse_verify(const std::string& text, const std::string& option) {
  if (text == "counts") return Verify::counts;
  if (text == "checksums") return Verify::checksums;
  throw UsageError(fmt::format("{} {}: expected counts or checksums", option, text));
}

OnInvalid parse_on_invalid(const std::string& text, const std::string& option) {
  if (text == "fail") return OnInvalid::fail;
  if (text == "null") return OnInvalid::null;
  if (text == "skip-row" || text == "skip_row") return OnInvalid::skip_row;
  throw UsageError(fmt::format("{} {}: expected fail, null or skip-row", option, text));
}

namespace {

using Clock = std::chrono::steady_clock;

const Dialect& pg() { return dialect_for(Backend::postgresql); }

// One application table as SQLite spells it and as the target holds it.
struct TableSpec {
  std::string source_name;                  // SQLite's name
  std::vector<std::string> source_columns;  // SQLite's names, in model order
  std::string name;                         // the model's (PostgreSQL's) name
  std::vector<std::string> columns;         // the model's names
  std::vector<schema::ColumnType> types;    // the target's portable types
  std::vector<bool> nullable;               // the target's nullability
  std::vector<std::size_t> key;             // indexes of the primary key's columns
  std::string autoincrement;                // the identity column, if any
  std::optional<std::int64_t> sequence;     // sqlite_sequence's value (AUTOINCREMENT)
  std::int64_t rows = 0;                    // in the source
};

struct Context {
  const Options* options = nullptr;
  Config source_config;  // read-only
  std::unique_ptr<InstanceLock> lock;
  std::unique_ptr<Connection> source;
  std::unique_ptr<Connection> target;
  schema::MetaData source_meta;
  std::vector<TableSpec> tables;  // load order
  bool create_schema = false;     // none of the tables exists on the target yet
  // --migrations with the target behind the source: the history runs inside the
  // transaction, under the target's migration lock.
  bool upgrade_target = false;
  std::string head;
  std::unique_ptr<InstanceLock> target_lock;
  std::vector<std::string> notes;
  std::vector<std::string> not_carried;
  // Unique keys on COLLATE NOCASE columns, carried as unique indexes on lower(…).
  std::vector<std::string> nocase_ddl;
};

std::string qident(std::string_view name) { return pg().quote(name); }

// Parents before children; a cycle is broken at its first table (the foreign keys
// are added after the load anyway).
std::vector<const schema::Table*> load_order(const schema::MetaData& meta) {
  std::vector<const schema::Table*> order;
  std::set<std::string> placed, visiting;
  std::function<void(const schema::Table&)> visit = [&](const schema::Table& t) {
    if (placed.count(t.name) || visiting.count(t.name)) return;
    visiting.insert(t.name);
    for (const auto& fk : t.foreign_keys)
      if (const schema::Table* parent = meta.table(fk.ref_table); parent && parent != &t)
        visit(*parent);
    visiting.erase(t.name);
    placed.insert(t.name);
    order.push_back(&t);
  };
  for (const auto& t : meta.tables) visit(t);
  return order;
}

std::int64_t count_rows(Connection& conn, const std::string& table) {
  return conn.query_one("SELECT count(*) FROM " + qident(table))->get<std::int64_t>(0);
}

void check_endpoints(const Options& o) {
  if (!o.from.is_sqlite())
    throw UsageError(fmt::format("--from {}: the source must be a SQLite database (sqlite:///…)",
                                 o.from.url.redacted()));
  if (o.from.url.is_memory())
    throw UsageError("--from sqlite:///:memory:: an in-memory database has nothing to transfer");
  if (!o.to.is_postgresql())
    throw UsageError(fmt::format(
        "--to {}: the target must be a PostgreSQL database (postgresql://…)", o.to.url.redacted()));
  if (o.batch_rows == 0 || o.queue_batches == 0)
    throw UsageError("transfer: batch_rows and queue_batches must be positive");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(o.from.url.path, ec))
    throw ConfigError(fmt::format("--from {}: no such SQLite database file", o.from.url.redacted()));
}

// PostgreSQL would cut a longer name to 63 bytes wherever the application spells it,
// and reflection fits it differently: neither is the name the application uses.
void refuse_long_name(const std::string& name, const std::string& what) {
  if (name.size() <= 63) return;
  throw TransferError(fmt::format(
      "{}: the name is {} bytes, PostgreSQL's names are at most 63; rename it in the source "
      "(and in the application) first; nothing was written",
      what, name.size()));
}

// Reflected-schema mode: what the source has that the target will not. Reflection
// says "not reflected" for each such object (views, triggers, expression indexes,
// generated columns, foreign keys and defaults it cannot model); unique keys on
// COLLATE NOCASE columns are carried as unique indexes on lower(col COLLATE "C")
// (which, like NOCASE, folds ASCII only), other collations are not carried.
void find_not_carried(Context& ctx) {
  Connection& src = *ctx.source;
  for (const auto& n : ctx.source_meta.notes)
    (n.find("not reflected") != std::string::npos ? ctx.not_carried : ctx.notes).push_back(n);
  for (const auto& t : ctx.source_meta.tables) {
    for (const auto& ix : src.query("SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 "
                                    "ORDER BY seq",
                                    {t.name})
                              .all()) {
      std::string index = ix.get<std::string>(0);
      std::vector<std::string> keys, cols;
      bool nocase = false, other = false, expression = false;
      for (const auto& c : src.query("SELECT name, coll FROM pragma_index_xinfo(?) WHERE key = 1 "
                                     "ORDER BY seqno",
                                     {index})
                               .all()) {
        // An expression key is reported by reflection already.
        expression = expression || c[0].is_null();
        std::string col = c.get<std::optional<std::string>>(0).value_or("?");
        std::string coll = c.get<std::optional<std::string>>(1).value_or("BINARY");
        cols.push_back(col);
        if (coll == "NOCASE") {
          nocase = true;
          keys.push_back(fmt::format("lower({} COLLATE \"C\")", qident(col)));
        } else {
          other = other || coll != "BINARY";
          keys.push_back(qident(col));
        }
      }
      if (expression) {
        continue;
      } else if (other) {
        ctx.not_carried.push_back(fmt::format(
            "unique key {} on {} ({}): a collation PostgreSQL does not have; not carried", index,
            t.name, fmt::join(cols, ", ")));
      } else if (nocase) {
        std::string name = dialect::fit_name(fmt::format("{}_{}_nocase_key", t.name,
                                                         fmt::join(cols, "_")));
        ctx.nocase_ddl.push_back(fmt::format("CREATE UNIQUE INDEX {} ON {} ({})", qident(name),
                                             qident(t.name), fmt::join(keys, ", ")));
        ctx.notes.push_back(fmt::format(
            "unique key {} on {} ({}) is COLLATE NOCASE: carried as unique index {} on lower(…); "
            "comparisons on PostgreSQL are case-sensitive",
            index, t.name, fmt::join(cols, ", "), name));
      }
    }
  }
}

// The source's application tables with SQLite's own names beside the model's.
void read_source(Context& ctx) {
  Connection& src = *ctx.source;
  ctx.source_meta = schema::reflect(src);
  if (ctx.options->migrations_dir.empty()) find_not_carried(ctx);
  // Names are refused above 63 bytes, so the model keeps SQLite's names as they are.
  std::map<std::string, std::string> sqlite_names;  // model name → SQLite name
  for (const auto& row :
       src.query("SELECT name FROM main.sqlite_schema WHERE type = 'table'").all()) {
    std::string n = row.get<std::string>(0);
    refuse_long_name(n, fmt::format("source table \"{}\"", n));
    sqlite_names.emplace(n, n);
  }
  if (ctx.options->migrations_dir.empty() &&
      src.query_one("SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?",
                    {std::string(migrate::version_table().name)}))
    throw ConfigError(fmt::format(
        "--from {}: a keel-migrated database (it has {}); give --migrations DIR so the target "
        "gets the same history",
        ctx.options->from.url.redacted(), migrate::version_table().name));
  std::map<std::string, std::int64_t> sequences;
  if (src.query_one("SELECT 1 FROM main.sqlite_schema WHERE name = 'sqlite_sequence'"))
    for (const auto& row : src.query("SELECT name, seq FROM sqlite_sequence").all())
      if (!row[0].is_null() && row[1].type() == ValueType::integer)
        sequences[row.get<std::string>(0)] = row.get<std::int64_t>(1);

  for (const schema::Table* t : load_order(ctx.source_meta)) {
    TableSpec spec;
    spec.name = t->name;
    auto it = sqlite_names.find(t->name);
    if (it == sqlite_names.end())
      throw TransferError(fmt::format("source table \"{}\": not found in sqlite_schema", t->name));
    spec.source_name = it->second;
    for (const auto& row : src.query("SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 "
                                     "ORDER BY cid",
                                     {spec.source_name})
                               .all()) {
      std::string n = row.get<std::string>(0);
      refuse_long_name(n, fmt::format("source table \"{}\", column \"{}\"", spec.source_name, n));
      spec.source_columns.push_back(n);
      spec.columns.push_back(n);
    }
    std::vector<std::string> model;
    for (const auto& c : t->columns) model.push_back(c.name);
    if (model != spec.columns)
      throw TransferError(fmt::format(
          "source table \"{}\": its columns ({}) do not match its reflected model ({}); "
          "generated columns cannot be transferred yet",
          spec.source_name, fmt::join(spec.columns, ", "), fmt::join(model, ", ")));
    if (auto s = sequences.find(spec.source_name); s != sequences.end()) spec.sequence = s->second;
    spec.rows = count_rows(src, spec.source_name);
    ctx.tables.push_back(std::move(spec));
  }
}

// Fills each table's target types from `meta` (the target's model, or the source's
// before the target exists) and checks every source column has a home there.
void bind_target_types(Context& ctx, const schema::MetaData& meta) {
  for (auto& spec : ctx.tables) {
    const schema::Table* t = meta.table(spec.name);
    if (t == nullptr)
      throw TransferError(fmt::format("target: table \"{}\" is missing", spec.name));
    spec.types.clear();
    spec.nullable.clear();
    spec.key.clear();
    spec.autoincrement.clear();
    for (const auto& c : spec.columns) {
      const schema::Column* col = t->column(c);
      if (col == nullptr)
        throw TransferError(fmt::format(
            "target: table \"{}\" has no column \"{}\" (the source has it); the target's schema "
            "does not match the source's",
            spec.name, c));
      spec.types.push_back(col->type);
      spec.nullable.push_back(col->nullable);
      if (col->autoincrement) spec.autoincrement = col->name;
    }
    for (const auto& c : t->columns)
      if (!c.nullable && !c.server_default && !c.autoincrement &&
          std::find(spec.columns.begin(), spec.columns.end(), c.name) == spec.columns.end())
        throw TransferError(fmt::format(
            "target: column \"{}\".\"{}\" is NOT NULL without a default and the source has no "
            "such column",
            spec.name, c.name));
    if (t->primary_key)
      for (const auto& k : t->primary_key->columns) {
        auto pos = std::find(spec.columns.begin(), spec.columns.end(), k);
        if (pos != spec.columns.end())
          spec.key.push_back(static_cast<std::size_t>(pos - spec.columns.begin()));
      }
  }
}

void check_migrations(Context& ctx) {
  const Options& o = *ctx.options;
  migrate::History history = migrate::load_history(o.migrations_dir);
  std::string head = history.head();
  Database source_db(ctx.source_config);
  auto source_rev = migrate::current(source_db, o.migrations_dir);
  if (source_rev.value_or("") != head)
    throw TransferError(fmt::format(
        "the source is at revision {}, the migrations' head is {}: stop the application and "
        "run `keel --url {} upgrade head` on the source first",
        source_rev.value_or("base (none applied)"), head.empty() ? "base" : head,
        o.from.url.redacted()));
  ctx.head = head;
  Database target_db(o.to);
  auto target_rev = migrate::current(target_db, o.migrations_dir);
  if (target_rev.value_or("") == head) return;
  // The history runs on the target in the transfer's transaction; no other migrator
  // may run on it meanwhile (the source's instance lock does not stop one there).
  ctx.upgrade_target = true;
  try {
    ctx.target_lock = migrate::migration_lock(o.to);
  } catch (const Error& e) {
    throw TransferError(fmt::format("target {}: {}", o.to.url.redacted(), e.what()));
  }
  if (!target_rev) {
    schema::MetaData target_meta = schema::reflect(*ctx.target);
    std::vector<std::string> others;
    for (const auto& t : target_meta.tables) others.push_back(t.name);
    if (!others.empty())
      throw TransferError(fmt::format(
          "the target has no keel revision applied but holds tables ({}); transfer into an "
          "empty database or schema",
          fmt::join(others, ", ")));
  }
}

// With the target just brought to the source's revision: its schema must hold the
// source's tables; their types become the load's.
void bind_migrated_target(Context& ctx) {
  schema::MetaData target_meta = schema::reflect(*ctx.target);
  std::vector<std::string> missing;
  for (const auto& spec : ctx.tables)
    if (!target_meta.table(spec.name)) missing.push_back(spec.name);
  if (!missing.empty())
    throw TransferError(fmt::format(
        "the target is at the source's revision but lacks the tables {}: the migrations do not "
        "create the source's schema",
        fmt::join(missing, ", ")));
  bind_target_types(ctx, target_meta);
}

// Everything checked before anything is written; leaves ctx ready to load.
void preflight(Context& ctx) {
  const Options& o = *ctx.options;
  check_endpoints(o);
  ctx.source_config = o.from;
  ctx.source_config.url.params["mode"] = "ro";
  // The application must be stopped, and stay stopped until the target is committed.
  ctx.lock = acquire_instance_lock(o.from, o.lock_name);
  ctx.source = connect(ctx.source_config);
  read_source(ctx);

  try {
    ctx.target = connect(o.to);
  } catch (const Error& e) {
    throw TransferError(fmt::format("target {} is not reachable: {}", o.to.url.redacted(),
                                    e.what()));
  }
  if (!o.migrations_dir.empty()) check_migrations(ctx);
  if (!ctx.not_carried.empty() && !o.allow_missing_objects)
    throw TransferError(fmt::format(
        "the source has schema objects the target would not get: {}. Nothing was written. "
        "Recreate them on PostgreSQL yourself and pass --allow-missing-objects, or carry the "
        "schema with a migration history (--migrations)",
        fmt::join(ctx.not_carried, "; ")));

  schema::MetaData target_meta = schema::reflect(*ctx.target);
  if (ctx.upgrade_target) {
    // Tables of the revision the target is at: rows there need --force.
    std::vector<std::string> filled;
    for (const auto& spec : ctx.tables)
      if (target_meta.table(spec.name))
        if (std::int64_t n = count_rows(*ctx.target, spec.name); n > 0)
          filled.push_back(fmt::format("{} ({} rows)", spec.name, n));
    if (!filled.empty() && !o.force)
      throw TransferError(fmt::format(
          "the target already holds rows in {}; refusing to load on top of them (--force "
          "truncates the application's tables in the same transaction)",
          fmt::join(filled, ", ")));
    return;
  }
  std::vector<std::string> present, missing;
  for (const auto& spec : ctx.tables)
    (target_meta.table(spec.name) ? present : missing).push_back(spec.name);
  if (!present.empty() && !missing.empty())
    throw TransferError(fmt::format(
        "the target has some of the source's tables ({}) but not others ({}); keel creates all "
        "of them or loads into all of them",
        fmt::join(present, ", "), fmt::join(missing, ", ")));
  if (!o.migrations_dir.empty() && !missing.empty())
    throw TransferError(fmt::format(
        "the target is at the source's revision but lacks the tables {}: the migrations do not "
        "create the source's schema",
        fmt::join(missing, ", ")));
  ctx.create_schema = present.empty();
  if (ctx.create_schema && !target_meta.tables.empty()) {
    std::vector<std::string> others;
    for (const auto& t : target_meta.tables) others.push_back(t.name);
    throw TransferError(fmt::format(
        "the target is not empty: it holds tables the source does not have ({}); transfer "
        "into an empty database or schema",
        fmt::join(others, ", ")));
  }
  if (!ctx.create_schema) {
    std::vector<std::string> filled;
    for (const auto& spec : ctx.tables)
      if (std::int64_t n = count_rows(*ctx.target, spec.name); n > 0)
        filled.push_back(fmt::format("{} ({} rows)", spec.name, n));
    if (!filled.empty() && !o.force)
      throw TransferError(fmt::format(
          "the target already holds rows in {}; refusing to load on top of them (--force "
          "truncates the application's tables in the same transaction)",
          fmt::join(filled, ", ")));
  }
  bind_target_types(ctx, ctx.create_schema ? ctx.source_meta : target_meta);
}

// ---- the reader ------------------------------------------------------------------

struct Counts {
  std::map<std::pair<std::string, std::string>, std::int64_t> coercions, refusals;
  std::int64_t skipped = 0;

  static std::vector<ColumnCount> list(
      const std::map<std::pair<std::string, std::string>, std::int64_t>& m) {
    std::vector<ColumnCount> out;
    for (const auto& [k, n] : m) out.push_back({k.first, k.second, n});
    return out;
  }
};

std::int64_t payload_bytes(const Value& v) {
  switch (v.type()) {
    case ValueType::text: return static_cast<std::int64_t>(std::get<std::string>(v.storage()).size());
    case ValueType::blob: return static_cast<std::int64_t>(std::get<Blob>(v.storage()).size());
    case ValueType::null: return 0;
    default: return 8;
  }
}

std::string describe_key(const TableSpec& spec, const std::vector<Value>& row, std::int64_t n) {
  if (spec.key.empty()) return fmt::format("row {}", n);
  // The row number too: a legacy key may itself be NULL or repeated.
  std::vector<std::string> parts;
  for (std::size_t i : spec.key)
    parts.push_back(fmt::format("{}={}", spec.columns[i],
                                row[i].type() == ValueType::text || row[i].type() == ValueType::integer
                                    ? row[i].to_display()
                                    : forms::describe(row[i])));
  return fmt::format("row {} (key {})", n, fmt::join(parts, ", "));
}

// A value as JSON for the rejects file: numbers and UTF-8 text as themselves,
// anything else (blobs, text that is not UTF-8 or holds NUL) as {"hex": …}.
nlohmann::json original(const Value& v) {
  auto hex = [](const unsigned char* p, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += fmt::format("{:02x}", p[i]);
    return nlohmann::json{{"hex", out}};
  };
  switch (v.type()) {
    case ValueType::null: return nullptr;
    case ValueType::integer: return std::get<std::int64_t>(v.storage());
    case ValueType::real: {
      double d = std::get<double>(v.storage());
      if (std::isfinite(d)) return d;
      return nlohmann::json{{"real", v.to_display()}};
    }
    case ValueType::text: {
      const auto& s = std::get<std::string>(v.storage());
      if (forms::check_utf8(s).problem == forms::Utf8Check::Problem::none) return s;
      return hex(reinterpret_cast<const unsigned char*>(s.data()), s.size());
    }
    case ValueType::blob: {
      const auto& b = std::get<Blob>(v.storage());
      return hex(b.data(), b.size());
    }
    default: return v.to_display();
  }
}

// The rejects file: one JSON object per line, written as values are set aside.
class RejectsFile {
 public:
  explicit RejectsFile(const std::string& path) : path_(path), out_(path, std::ios::trunc) {
    if (!out_)
      throw ConfigError(fmt::format("--rejects {}: cannot be written", path));
  }
  void write(const TableSpec& spec, const std::vector<Value>& row, std::int64_t n, std::size_t i,
             const Refusal& r, const char* action) {
    nlohmann::json key = nlohmann::json::object();
    for (std::size_t k : spec.key) key[spec.source_columns[k]] = original(row[k]);
    nlohmann::json line = {{"table", spec.source_name}, {"row", n}, {"key", key},
                           {"column", spec.source_columns[i]}, {"value", original(row[i])},
                           {"reason", r.reason}, {"kind", to_string(r.kind)},
                           {"action", action}};
    out_ << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    if (!out_) throw TransferError(fmt::format("--rejects {}: write failed", path_));
  }
  void close() {
    out_.flush();
    if (!out_) throw TransferError(fmt::format("--rejects {}: write failed", path_));
  }

 private:
  std::string path_;
  std::ofstream out_;
};

// Reads one table, coerces every value and hands batches to `queue`; computes the
// source side's checksum over the coerced rows. Runs on the reader thread.
class TableReader {
 public:
  TableReader(const Options& o, Connection& source, const TableSpec& spec, RejectsFile* rejects,
              bool dry_run)
      : o_(o), source_(source), spec_(spec), rejects_(rejects), dry_run_(dry_run),
        checksum_(spec.types) {}

  void run(BatchQueue* queue) {
    std::vector<std::string> cols;
    for (const auto& c : spec_.source_columns) cols.push_back(qident(c));
    std::string sql = fmt::format("SELECT {} FROM {}", fmt::join(cols, ", "),
                                  qident(spec_.source_name));
    Batch batch;
    std::int64_t n = 0;
    const bool checksums = o_.verify == Verify::checksums;
    Rows rows = source_.query(sql);
    while (rows.next()) {
      ++n;
      const std::vector<Value>& in = rows.row().values();
      std::vector<Value> out;
      out.reserve(in.size());
      jsonb_.resize(in.size());
      bool skip = false;
      for (std::size_t i = 0; i < in.size(); ++i) {
        // SQLite keeps NULLs a NOT NULL target cannot (legacy NULLs in a non-rowid key).
        Coerced c;
        if (in[i].is_null() && !spec_.nullable[i])
          c.refusal = Refusal{RefusalKind::null_in_not_null, "NULL in a NOT NULL column"};
        else
          c = coerce(in[i], spec_.types[i], checksums);
        if (c.ok()) {
          if (checksums && spec_.types[i].kind == schema::TypeKind::json)
            jsonb_[i] = std::move(c.jsonb);
          if (c.kind != CoercionKind::none) {
            ++counts_.coercions[{spec_.columns[i], to_string(c.kind)}];
            out.push_back(std::move(c.value));
          } else {
            out.push_back(in[i]);
          }
          continue;
        }
        refused(in, i, *c.refusal, n);
        ++counts_.refusals[{spec_.columns[i], to_string(c.refusal->kind)}];
        if (o_.on_invalid == OnInvalid::skip_row) skip = true;
        out.emplace_back();
      }
      for (const auto& v : in) bytes_ += payload_bytes(v);
      read_ = n;
      if (skip) {
        ++counts_.skipped;
        continue;
      }
      if (checksums) checksum_.add_row(out, jsonb_);
      ++written_;
      if (queue == nullptr) continue;
      batch.bytes = bytes_;
      batch.rows.push_back(std::move(out));
      if (batch.rows.size() >= o_.batch_rows) {
        if (!queue->push(std::move(batch))) return;
        batch = Batch{};
      }
    }
    if (queue != nullptr && !batch.rows.empty()) {
      batch.bytes = bytes_;
      queue->push(std::move(batch));
    }
  }

  const Counts& counts() const { return counts_; }
  Checksum checksum() const { return checksum_.result(); }
  std::int64_t bytes() const { return bytes_; }
  std::int64_t read() const { return read_; }
  std::int64_t written() const { return written_; }

 private:
  void refused(const std::vector<Value>& row, std::size_t i, const Refusal& r, std::int64_t n) {
    std::string where = fmt::format("table \"{}\", {}, column \"{}\"", spec_.source_name,
                                    describe_key(spec_, row, n), spec_.source_columns[i]);
    if (o_.on_invalid == OnInvalid::fail && !dry_run_)
      throw TransferError(fmt::format(
          "{}: {} ({}); nothing was written. Fix the value in the source, or choose "
          "--on-invalid null|skip-row to set such values aside in a rejects file",
          where, r.reason, to_string(r.kind)));
    if (o_.on_invalid == OnInvalid::null && !spec_.nullable[i] && !dry_run_)
      throw TransferError(fmt::format(
          "{}: {} ({}), and --on-invalid null cannot null a NOT NULL column; use skip-row", where,
          r.reason, to_string(r.kind)));
    if (rejects_ != nullptr && !dry_run_)
      rejects_->write(spec_, row, n, i, r, to_string(o_.on_invalid));
  }

  const Options& o_;
  Connection& source_;
  const TableSpec& spec_;
  RejectsFile* rejects_;
  bool dry_run_;
  TableChecksum checksum_;
  std::vector<std::string> jsonb_;  // this row's JSON documents spelled as jsonb
  Counts counts_;
  std::int64_t bytes_ = 0, read_ = 0, written_ = 0;
};

std::int64_t peak_rss_bytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void tell(const Options& o, Progress p) {
  if (o.progress) o.progress(p);
}

// A progress report for a phase after the load.
Progress phase(std::size_t tables, const char* name) {
  Progress p;
  p.tables = tables;
  p.phase = name;
  return p;
}

std::string read_file(const std::string& path, const std::string& option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{} {}: no such file", option, path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TableReport table_report(const TableSpec& spec, const TableReader& reader, double seconds) {
  TableReport r;
  r.name = spec.name;
  r.source_rows = reader.read();
  r.rows = reader.written();
  r.bytes = reader.bytes();
  r.seconds = seconds;
  r.coercions = Counts::list(reader.counts().coercions);
  r.refusals = Counts::list(reader.counts().refusals);
  r.skipped_rows = reader.counts().skipped;
  return r;
}

// Streams one table from the reader thread into COPY on the target; returns what
// the source side counted and summed.
TableReport load_table(Context& ctx, const TableSpec& spec, std::size_t index,
                       Connection& reader_conn, RejectsFile* rejects, Checksum& source_sum) {
  const Options& o = *ctx.options;
  auto start = Clock::now();
  BatchQueue queue(o.queue_batches);
  TableReader reader(o, reader_conn, spec, rejects, false);
  std::exception_ptr reader_error;
  std::thread thread([&] {
    try {
      reader.run(&queue);
      queue.close();
    } catch (...) {
      reader_error = std::current_exception();
      queue.cancel();
    }
  });
  Progress p;
  p.table = spec.name;
  p.table_index = index + 1;
  p.tables = ctx.tables.size();
  p.total_rows = spec.rows;
  p.phase = "load";
  try {
    auto bulk = ctx.target->bulk_insert(spec.name, spec.columns);
    while (auto batch = queue.pop()) {
      for (const auto& row : batch->rows) bulk->add(row);
      p.rows += static_cast<std::int64_t>(batch->rows.size());
      p.bytes = batch->bytes;
      tell(o, p);
    }
    thread.join();
    if (reader_error) std::rethrow_exception(reader_error);
    bulk->finish();
  } catch (...) {
    queue.cancel();
    if (thread.joinable()) thread.join();
    if (reader_error) std::rethrow_exception(reader_error);
    throw;
  }
  source_sum = reader.checksum();
  TableReport report = table_report(spec, reader, seconds_since(start));
  p.rows = report.rows;
  p.bytes = report.bytes;
  p.done = true;
  tell(o, p);
  return report;
}

struct ForeignKeyDef {
  std::string table, name, definition;
};

// The target's foreign keys on the application's tables, as PostgreSQL renders them.
std::vector<ForeignKeyDef> target_foreign_keys(Context& ctx) {
  std::set<std::string> tables;
  for (const auto& spec : ctx.tables) tables.insert(spec.name);
  std::vector<ForeignKeyDef> out;
  for (const auto& row : ctx.target
                             ->query("SELECT rel.relname::text, con.conname::text, "
                                     "pg_catalog.pg_get_constraintdef(con.oid) "
                                     "FROM pg_catalog.pg_constraint con "
                                     "JOIN pg_catalog.pg_class rel ON rel.oid = con.conrelid "
                                     "JOIN pg_catalog.pg_namespace n ON n.oid = rel.relnamespace "
                                     "WHERE con.contype = 'f' AND n.nspname = current_schema() "
                                     "ORDER BY 1, 2")
                             .all())
    if (tables.count(row.get<std::string>(0)))
      out.push_back({row.get<std::string>(0), row.get<std::string>(1), row.get<std::string>(2)});
  return out;
}

// An index of an application table, dropped before the load and built again after
// it: one sort per index instead of a B-tree insertion per row, which is most of
// what a loaded table costs the server. Keys and unique constraints come back as
// the constraints they were (foreign keys need them), the rest from
// pg_get_indexdef; both keep their names.
struct IndexDef {
  std::string table, name, drop, create;
  bool constraint = false;  // a primary key, unique or exclusion constraint
};

std::vector<IndexDef> target_indexes(Context& ctx) {
  std::set<std::string> tables;
  for (const auto& spec : ctx.tables) tables.insert(spec.name);
  std::vector<IndexDef> out;
  // Constraints first: primary keys before the unique keys and indexes that may
  // lean on them is the order ADD CONSTRAINT accepts.
  for (const auto& row :
       ctx.target
           ->query("SELECT rel.relname::text, ix.relname::text, con.conname::text, "
                   "CASE WHEN con.oid IS NULL THEN pg_catalog.pg_get_indexdef(ix.oid) "
                   "ELSE pg_catalog.pg_get_constraintdef(con.oid) END "
                   "FROM pg_catalog.pg_index i "
                   "JOIN pg_catalog.pg_class ix ON ix.oid = i.indexrelid "
                   "JOIN pg_catalog.pg_class rel ON rel.oid = i.indrelid "
                   "JOIN pg_catalog.pg_namespace n ON n.oid = rel.relnamespace "
                   "LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = ix.oid "
                   "AND con.conrelid = rel.oid AND con.contype IN ('p', 'u', 'x') "
                   "WHERE n.nspname = current_schema() "
                   "ORDER BY con.oid IS NULL, con.contype, 1, 2")
           .all()) {
    std::string table = row.get<std::string>(0);
    if (!tables.count(table)) continue;
    IndexDef d;
    d.table = table;
    auto constraint = row.get<std::optional<std::string>>(2);
    d.constraint = constraint.has_value();
    d.name = d.constraint ? *constraint : row.get<std::string>(1);
    std::string def = row.get<std::string>(3);
    if (d.constraint) {
      d.drop = fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", qident(table), qident(d.name));
      d.create = fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", qident(table),
                             qident(d.name), def);
    } else {
      d.drop = fmt::format("DROP INDEX {}", qident(d.name));
      d.create = def;
    }
    out.push_back(std::move(d));
  }
  return out;
}

void set_sequences(Context& ctx) {
  for (const auto& spec : ctx.tables) {
    if (spec.autoincrement.empty()) continue;
    auto max = ctx.target
                   ->query_one(fmt::format("SELECT max({}) FROM {}", qident(spec.autoincrement),
                                           qident(spec.name)))
                   ->get<std::optional<std::int64_t>>(0);
    // AUTOINCREMENT never hands out an id twice, even one whose row is gone.
    std::int64_t last = std::max<std::int64_t>(max.value_or(0), spec.sequence.value_or(0));
    auto seq = ctx.target->query_one("SELECT pg_catalog.pg_get_serial_sequence(?, ?)",
                                     Params{Value(qident(spec.name)), Value(spec.autoincrement)});
    if (!seq || (*seq)[0].is_null()) continue;
    std::string name = seq->get<std::string>(0);
    if (last >= 1)
      ctx.target->query_one("SELECT pg_catalog.setval(?::regclass, ?, true)", Params{Value(name), Value(last)});
    else
      ctx.target->query_one("SELECT pg_catalog.setval(?::regclass, 1, false)", Params{Value(name)});
  }
}

// Counts, and with checksums the rows read back in this transaction, against what
// the reader sent. The checksum's pass counts the rows too, so it needs no count(*).
void verify_table(Context& ctx, const TableSpec& spec, TableReport& report,
                  const Checksum& source_sum) {
  auto count_mismatch = [&](std::int64_t target_rows) {
    return TransferError(fmt::format(
        "verification failed for table \"{}\": the source sent {} rows, the target holds {}; "
        "rolled back",
        spec.name, report.rows, target_rows));
  };
  if (ctx.options->verify != Verify::checksums) {
    if (std::int64_t n = count_rows(*ctx.target, spec.name); n != report.rows)
      throw count_mismatch(n);
    return;
  }
  std::vector<std::string> cols;
  for (std::size_t i = 0; i < spec.columns.size(); ++i)
    // A json column's text is the application's spelling; jsonb's is the canonical
    // one the checksum hashes (for a jsonb column the cast does nothing).
    cols.push_back(spec.types[i].kind == schema::TypeKind::json
                       ? fmt::format("{}::jsonb", qident(spec.columns[i]))
                       : qident(spec.columns[i]));
  TableChecksum sum(spec.types, JsonSource::jsonb_output);
  // A binary COPY out: no per-row result, no text formatting on the server.
  Rows rows = ctx.target->bulk_read(
      fmt::format("SELECT {} FROM {}", fmt::join(cols, ", "), qident(spec.name)));
  while (rows.next()) sum.add_row(rows.row().values());
  Checksum target_sum = sum.result();
  if (target_sum.rows != source_sum.rows)
    throw count_mismatch(static_cast<std::int64_t>(target_sum.rows));
  if (!(target_sum == source_sum))
    throw TransferError(fmt::format(
        "verification failed for table \"{}\": checksum of the source's rows {} but of the "
        "target's {}; rolled back",
        spec.name, to_string(source_sum), to_string(target_sum)));
  report.checksum = to_string(source_sum);
}

// Closes the running phase in the report and opens `next` ("" opens none).
class PhaseClock {
 public:
  explicit PhaseClock(Report& report) : report_(report) {}
  void next(const char* name) {
    auto now = Clock::now();
    if (!current_.empty())
      report_.phases.emplace_back(current_, std::chrono::duration<double>(now - since_).count());
    current_ = name;
    since_ = now;
  }

 private:
  Report& report_;
  std::string current_;
  Clock::time_point since_;
};

Report start_report(const Context& ctx, bool dry_run) {
  Report r;
  r.source = ctx.options->from.url.redacted();
  r.target = ctx.options->to.url.redacted();
  r.dry_run = dry_run;
  r.notes = ctx.notes;
  r.not_carried = ctx.not_carried;
  r.verify = to_string(ctx.options->verify);
  return r;
}

void finish_report(Report& r, Clock::time_point start) {
  for (const auto& t : r.tables) {
    r.rows += t.rows;
    r.bytes += t.bytes;
  }
  r.seconds = seconds_since(start);
  r.peak_rss_bytes = peak_rss_bytes();
}

}  // namespace

Report plan(const Options& options) {
  auto start = Clock::now();
  Context ctx;
  ctx.options = &options;
  preflight(ctx);
  if (!options.after_sql_file.empty()) read_file(options.after_sql_file, "--after");
  if (ctx.upgrade_target) {
    // The exact target types come from the history as it runs on PostgreSQL; the dry
    // run runs it in a transaction it rolls back.
    Connection& target = *ctx.target;
    target.begin();
    try {
      migrate::upgrade_in_transaction(target, options.migrations_dir, ctx.head);
      bind_migrated_target(ctx);
    } catch (...) {
      target.abandon_transaction();
      throw;
    }
    target.abandon_transaction();
  }
  Report report = start_report(ctx, true);
  report.created_schema = ctx.create_schema;
  report.migrated_target = ctx.upgrade_target;
  for (const auto& spec : ctx.tables) {
    auto t0 = Clock::now();
    TableReader reader(options, *ctx.source, spec, nullptr, true);
    reader.run(nullptr);
    report.tables.push_back(table_report(spec, reader, seconds_since(t0)));
  }
  finish_report(report, start);
  return report;
}

Report transfer(const Options& options) {
  auto start = Clock::now();
  Context ctx;
  ctx.options = &options;
  preflight(ctx);
  std::string after_sql;
  if (!options.after_sql_file.empty()) after_sql = read_file(options.after_sql_file, "--after");
  std::unique_ptr<RejectsFile> rejects;
  if (!options.rejects_file.empty()) rejects = std::make_unique<RejectsFile>(options.rejects_file);

  Report report = start_report(ctx, false);
  report.created_schema = ctx.create_schema;
  report.migrated_target = ctx.upgrade_target;
  auto reader_conn = connect(ctx.source_config);
  // One read snapshot for every table, even should something write the source anyway.
  reader_conn->execute("BEGIN DEFERRED");
  Connection& target = *ctx.target;
  std::vector<Checksum> source_sums(ctx.tables.size());
  PhaseClock clock(report);
  target.transaction([&] {
    clock.next("schema");
    // A long COPY or constraint check must not meet the application's statement timeout.
    target.execute("SET LOCAL statement_timeout = 0");
    if (ctx.create_schema) {
      for (const auto& sql : schema::create_ddl(ctx.source_meta, Backend::postgresql)) {
        try {
          target.execute(sql);
        } catch (const Error& e) {
          throw TransferError(fmt::format("creating the schema on the target failed at `{}`: {}",
                                          sql, e.what()));
        }
      }
      for (const auto& sql : ctx.nocase_ddl) target.execute(sql);
      bind_target_types(ctx, schema::reflect(target));
    } else if (ctx.upgrade_target) {
      try {
        migrate::upgrade_in_transaction(target, options.migrations_dir, ctx.head);
      } catch (const Error& e) {
        throw TransferError(fmt::format(
            "bringing the target to revision {} with {} failed; rolled back: {}", ctx.head,
            options.migrations_dir, e.what()));
      }
      bind_migrated_target(ctx);
    }
    if (!ctx.create_schema && options.force) {
      std::vector<std::string> names;
      for (const auto& spec : ctx.tables) names.push_back(qident(spec.name));
      target.execute(fmt::format("TRUNCATE {}", fmt::join(names, ", ")));
    }
    auto fks = target_foreign_keys(ctx);
    for (const auto& fk : fks)
      target.execute(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", qident(fk.table),
                                 qident(fk.name)));
    auto indexes = target_indexes(ctx);
    for (const auto& ix : indexes) target.execute(ix.drop);

    clock.next("load");
    for (std::size_t i = 0; i < ctx.tables.size(); ++i)
      report.tables.push_back(
          load_table(ctx, ctx.tables[i], i, *reader_conn, rejects.get(), source_sums[i]));
    if (rejects) rejects->close();

    clock.next("indexes");
    tell(options, phase(ctx.tables.size(), "indexes"));
    // Index builds sort in maintenance_work_mem; the server's default 64 MB spills a
    // large table's sort to disk.
    target.execute("SET LOCAL maintenance_work_mem = '256MB'");
    for (const auto& ix : indexes) {
      try {
        target.execute(ix.create);
      } catch (const Error& e) {
        throw TransferError(fmt::format(
            "{} {} of table \"{}\" does not hold for the source's rows: {}",
            ix.constraint ? "constraint" : "index", ix.name, ix.table, e.what()));
      }
    }
    clock.next("constraints");
    tell(options, phase(ctx.tables.size(), "constraints"));
    for (const auto& fk : fks) {
      try {
        target.execute(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", qident(fk.table),
                                   qident(fk.name), fk.definition));
      } catch (const Error& e) {
        throw TransferError(fmt::format(
            "foreign key {} of table \"{}\" ({}) does not hold for the source's rows: {}",
            fk.name, fk.table, fk.definition, e.what()));
      }
    }
    clock.next("sequences");
    tell(options, phase(ctx.tables.size(), "sequences"));
    set_sequences(ctx);
    clock.next("verify");
    tell(options, phase(ctx.tables.size(), "verify"));
    for (std::size_t i = 0; i < ctx.tables.size(); ++i)
      verify_table(ctx, ctx.tables[i], report.tables[i], source_sums[i]);
    if (!after_sql.empty()) {
      clock.next("after");
      try {
        target.execute_script(after_sql);
      } catch (const Error& e) {
        throw TransferError(fmt::format("--after {}: {}", options.after_sql_file, e.what()));
      }
    }
    clock.next("commit");
    tell(options, phase(ctx.tables.size(), "commit"));
  });
  clock.next("");
  finish_report(report, start);
  return report;
}

std::string Report::to_json() const {
  using nlohmann::json;
  auto counts = [](const std::vector<ColumnCount>& list) {
    json a = json::array();
    for (const auto& c : list) a.push_back({{"column", c.column}, {"kind", c.kind}, {"count", c.count}});
    return a;
  };
  json t = json::array();
  for (const auto& x : tables)
    t.push_back({{"name", x.name},
                 {"source_rows", x.source_rows},
                 {"rows", x.rows},
                 {"bytes", x.bytes},
                 {"seconds", x.seconds},
                 {"coercions", counts(x.coercions)},
                 {"refusals", counts(x.refusals)},
                 {"skipped_rows", x.skipped_rows},
                 {"checksum", x.checksum}});
  json j = {{"source", source},       {"target", target},   {"dry_run", dry_run},
            {"created_schema", created_schema}, {"verify", verify}, {"tables", t},
            {"notes", notes},         {"not_carried", not_carried},
            {"migrated_target", migrated_target},         {"rows", rows},       {"bytes", bytes},
            {"seconds", seconds},     {"peak_rss_bytes", peak_rss_bytes}};
  json p = json::array();
  for (const auto& [name, s] : phases) p.push_back({{"phase", name}, {"seconds", s}});
  j["phases"] = p;
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace keel::transfer
