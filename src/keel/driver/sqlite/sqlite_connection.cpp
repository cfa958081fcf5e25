// The SQLite driver: one sqlite3 handle per Connection, a bounded cache of
// prepared statements, and the mapping of SQLite's extended result codes onto
// keel's error taxonomy.
//
// Ownership runs one way so that nothing dangles whatever order the application
// drops things in: a Cursor holds its Statement, a Statement holds the Handle, and
// the Handle closes the database when the last of them goes. A Rows may therefore
// outlive its Connection.
#include <sqlite3.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <list>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>

#include "driver/backends.hpp"
#include "driver/bulk.hpp"
#include "driver/placeholders.hpp"
#include "keel/error.hpp"
#include "keel/value.hpp"

namespace keel::driver {
namespace {

// Enough for the statements of a typical application; beyond it the least
// recently used statement is finalized.
constexpr std::size_t kStatementCacheSize = 256;

struct Handle {
  sqlite3* db = nullptr;
  // Set once SQLite reports the file unusable (corrupt, not a database).
  bool broken = false;
  explicit Handle(sqlite3* d) : db(d) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { sqlite3_close_v2(db); }
};

bool starts_with(const char* message, std::string_view prefix) {
  return std::strncmp(message, prefix.data(), prefix.size()) == 0;
}

ErrorKind classify(int code, const char* message) {
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return ErrorKind::unique_violation;
    case SQLITE_CONSTRAINT_FOREIGNKEY: return ErrorKind::foreign_key_violation;
    // ON DELETE/UPDATE RESTRICT runs as an internal trigger that RAISEs this message.
    case SQLITE_CONSTRAINT_TRIGGER:
      if (starts_with(message, "FOREIGN KEY constraint failed"))
        return ErrorKind::foreign_key_violation;
      break;
    case SQLITE_CONSTRAINT_NOTNULL: return ErrorKind::not_null_violation;
    case SQLITE_CONSTRAINT_CHECK: return ErrorKind::check_violation;
    case SQLITE_BUSY_SNAPSHOT: return ErrorKind::serialization_failure;
    default: break;
  }
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorKind::busy;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB: return ErrorKind::connection;
    case SQLITE_INTERRUPT: return ErrorKind::timeout;
    case SQLITE_ERROR:
      // SQLite has no finer code for these; its messages have been stable for
      // decades and are what every SQLite binding matches on.
      if (std::strstr(message, "syntax error") != nullptr ||
          starts_with(message, "incomplete input") || starts_with(message, "unrecognized token"))
        return ErrorKind::syntax;
      if (starts_with(message, "no such ")) return ErrorKind::undefined_object;
      return ErrorKind::other;
    default: return ErrorKind::other;
  }
}

// Throws the keel error for result code `code` (extended) that `handle` just
// reported while running `sql`.
[[noreturn]] void fail(Handle& handle, int code, std::string_view sql) {
  const char* message = sqlite3_errmsg(handle.db);
  if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB) handle.broken = true;
  std::string text = message;
  int offset = sqlite3_error_offset(handle.db);
  // Where in the statement SQLite stopped, when it knows: near "x" alone can be
  // ambiguous in a long statement.
  if (offset >= 0 && static_cast<std::size_t>(offset) < sql.size())
    text += fmt::format(" at offset {}", offset);
  if (!sql.empty()) text += fmt::format(" (SQL: {})", sql_excerpt(sql));
  throw_database_error(classify(code, message), text, code);
}

// Where the first token of `sql` starts, past whitespace, comments and
// semicolons; npos when there is none.
std::size_t skip_trivia(std::string_view sql) {
  std::size_t i = 0;
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == ';') {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      i = sql.find('\n', i);
    } else if (sql.substr(i, 2) == "/*") {
      // SQLite accepts a comment left open at the end.
      i = sql.find("*/", i + 2);
      if (i != std::string_view::npos) i += 2;
    } else {
      return i;
    }
  }
  return std::string_view::npos;
}

// True when `tail` holds nothing but whitespace, comments and semicolons: what
// may follow the one statement that execute() and query() accept.
bool only_trivia(std::string_view tail) { return skip_trivia(tail) == std::string_view::npos; }

// The first keyword of `sql`, upper-cased.
std::string first_keyword(std::string_view sql) {
  std::string word;
  std::size_t i = skip_trivia(sql);
  if (i == std::string_view::npos) return word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])))
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
  return word;
}

// Statements that cannot run inside the transaction execute_script() wraps a
// script in, or mean something else there: a script's own transaction control,
// VACUUM, ATTACH, and PRAGMAs (foreign_keys and journal_mode are silently
// ignored or refused inside a transaction).
bool needs_autocommit(std::string_view keyword) {
  for (std::string_view k : {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE",
                             "VACUUM", "PRAGMA", "ATTACH", "DETACH"})
    if (keyword == k) return true;
  return false;
}

// A prepared statement and what keel derives from it once.
struct Statement {
  std::shared_ptr<Handle> handle;
  sqlite3_stmt* stmt = nullptr;
  std::string sql;
  std::shared_ptr<const std::vector<std::string>> names;
  // Placeholder names by index - 1: ":id", "@id", "$id", "?3", or "" for a bare ?.
  std::vector<std::string> params;
  bool named_params = false;
  // INSERT, UPDATE, DELETE (also behind WITH): sqlite3_changes64() is about us.
  bool counts_changes = false;
  // Owned by an execute() in progress or an open Rows.
  bool in_use = false;
  // How often SQLite had re-prepared the statement when `names` was last checked.
  int reprepared = 0;

  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt); }

  // Column names; recomputed only when SQLite re-prepared the statement after a
  // schema change and the result shape moved (e.g. SELECT * after ADD COLUMN).
  // Without a re-prepare nothing can have moved, and the check costs one counter read.
  void refresh_names() {
    int count = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_REPREPARE, 0);
    if (names && count == reprepared) return;
    reprepared = count;
    int n = sqlite3_column_count(stmt);
    bool same = names && names->size() == static_cast<std::size_t>(n);
    for (int i = 0; same && i < n; ++i) {
      const char* name = sqlite3_column_name(stmt, i);
      same = (*names)[i] == (name ? name : "");
    }
    if (same) return;
    auto fresh = std::make_shared<std::vector<std::string>>();
    fresh->reserve(n);
    for (int i = 0; i < n; ++i) {
      const char* name = sqlite3_column_name(stmt, i);
      fresh->emplace_back(name ? name : "");
    }
    names = std::move(fresh);
  }
};

// Marks a statement busy for the duration of one execution; the release resets
// it so that a finished read ends its implicit transaction right away.
class Lease {
 public:
  explicit Lease(std::shared_ptr<Statement> st) : st_(std::move(st)) { st_->in_use = true; }
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() { release(); }
  Statement& operator*() const noexcept { return *st_; }
  Statement* operator->() const noexcept { return st_.get(); }
  explicit operator bool() const noexcept { return st_ != nullptr; }
  void release() noexcept {
    if (!st_) return;
    sqlite3_reset(st_->stmt);
    sqlite3_clear_bindings(st_->stmt);
    st_->in_use = false;
    st_.reset();
  }

 private:
  std::shared_ptr<Statement> st_;
};

void set_text(Value& v, const char* p, std::size_t n) {
  if (auto* s = std::get_if<std::string>(&v.storage())) {
    s->assign(p, n);
  } else {
    v.storage().emplace<std::string>(p, n);
  }
}

void set_blob(Value& v, const void* p, std::size_t n) {
  auto* b = static_cast<const std::uint8_t*>(p);
  if (auto* blob = std::get_if<Blob>(&v.storage())) {
    blob->assign(b, b + n);
  } else {
    v.storage().emplace<Blob>(b, b + n);
  }
}

// Reads the current row of `st` into `row`, reusing its storage when the row
// last held a row of the same statement.
void read_row(Statement& st, Row& row) {
  const std::size_t n = st.names->size();
  if (row.names() != st.names || row.size() != n) row = Row(st.names, std::vector<Value>(n));
  auto& values = row.values();
  for (std::size_t i = 0; i < n; ++i) {
    int col = static_cast<int>(i);
    Value& v = values[i];
    switch (sqlite3_column_type(st.stmt, col)) {
      case SQLITE_INTEGER:
        v.storage() = static_cast<std::int64_t>(sqlite3_column_int64(st.stmt, col));
        break;
      case SQLITE_FLOAT: v.storage() = sqlite3_column_double(st.stmt, col); break;
      case SQLITE_TEXT: {
        // Pointer first, then the size: the documented order for no conversion.
        auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st.stmt, col));
        std::size_t size = static_cast<std::size_t>(sqlite3_column_bytes(st.stmt, col));
        set_text(v, p ? p : "", p ? size : 0);
        break;
      }
      case SQLITE_BLOB: {
        const void* p = sqlite3_column_blob(st.stmt, col);
        std::size_t size = static_cast<std::size_t>(sqlite3_column_bytes(st.stmt, col));
        set_blob(v, p, p ? size : 0);
        break;
      }
      default: v.storage() = std::monostate{}; break;
    }
  }
}

class SqliteCursor final : public detail::Cursor {
 public:
  // `has_row`: query() already stepped onto the first row.
  SqliteCursor(Lease lease, bool has_row) : lease_(std::move(lease)), pending_(has_row) {
    if (!has_row) lease_.release();
  }

  // Every query makes a cursor and most are gone before the next one starts: each
  // thread keeps the memory of its last cursor for the next, so a point query
  // allocates no cursor once warm.
  static void* operator new(std::size_t size) {
    if (void* p = std::exchange(spare_.block, nullptr)) return p;
    return ::operator new(size);
  }
  static void operator delete(void* p) noexcept {
    if (spare_.block == nullptr) {
      spare_.block = p;
    } else {
      ::operator delete(p);
    }
  }

  bool next(Row& row) override {
    if (!lease_) return false;
    if (pending_) {
      pending_ = false;
    } else {
      int rc = sqlite3_step(lease_->stmt);
      if (rc == SQLITE_DONE) {
        lease_.release();
        return false;
      }
      if (rc != SQLITE_ROW) {
        Statement& st = *lease_;
        auto handle = st.handle;
        std::string sql = st.sql;
        try {
          fail(*handle, rc, sql);
        } catch (...) {
          lease_.release();
          throw;
        }
      }
    }
    read_row(*lease_, row);
    return true;
  }

 private:
  struct Spare {
    void* block = nullptr;
    ~Spare() { ::operator delete(std::exchange(block, nullptr)); }
  };
  static thread_local Spare spare_;

  Lease lease_;
  bool pending_;
};

thread_local SqliteCursor::Spare SqliteCursor::spare_;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

const char* checkpoint_name(CheckpointMode mode) {
  switch (mode) {
    case CheckpointMode::passive: return "passive";
    case CheckpointMode::full: return "full";
    case CheckpointMode::restart: return "restart";
    case CheckpointMode::truncate: return "truncate";
  }
  return "passive";
}

int checkpoint_code(CheckpointMode mode) {
  switch (mode) {
    case CheckpointMode::passive: return SQLITE_CHECKPOINT_PASSIVE;
    case CheckpointMode::full: return SQLITE_CHECKPOINT_FULL;
    case CheckpointMode::restart: return SQLITE_CHECKPOINT_RESTART;
    case CheckpointMode::truncate: return SQLITE_CHECKPOINT_TRUNCATE;
  }
  return SQLITE_CHECKPOINT_PASSIVE;
}

// Binds `value` to parameter `index` of `s`; returns SQLite's result code. A date
// or timestamp is bound as its text, formatted into `scratch`. With SQLITE_STATIC
// `value` (and, with `scratch_lifetime` SQLITE_STATIC, `scratch`) must outlive the
// statement's next step; SQLITE_TRANSIENT has SQLite copy them.
inline int bind_param(sqlite3_stmt* s, int index, const Value& value, std::string& scratch,
                      sqlite3_destructor_type lifetime,
                      sqlite3_destructor_type scratch_lifetime) {
  auto text = [&](const std::string& t, sqlite3_destructor_type how) {
    return sqlite3_bind_text64(s, index, t.data(), t.size(), how, SQLITE_UTF8);
  };
  return std::visit(
      [&](const auto& v) -> int {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return sqlite3_bind_null(s, index);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return sqlite3_bind_int64(s, index, v);
        } else if constexpr (std::is_same_v<T, double>) {
          return sqlite3_bind_double(s, index, v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return text(v, lifetime);
        } else if constexpr (std::is_same_v<T, Blob>) {
          // A null data pointer would bind NULL; an empty blob is not NULL.
          if (v.empty()) return sqlite3_bind_zeroblob(s, index, 0);
          return sqlite3_bind_blob64(s, index, v.data(), v.size(), lifetime);
        } else if constexpr (std::is_same_v<T, bool>) {
          return sqlite3_bind_int(s, index, v ? 1 : 0);
        } else if constexpr (std::is_same_v<T, Date>) {
          scratch = format_date(v);
          return text(scratch, scratch_lifetime);
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          scratch = format_timestamp(v);
          return text(scratch, scratch_lifetime);
        } else {
          return text(v.text, lifetime);  // Json, Decimal
        }
      },
      value.storage());
}

// Rows per statement of SQLite's bulk insert: a multi-row INSERT of this many rows
// took a third less CPU per row than a single-row one reused (bench/bulk_bench.cpp),
// and more gained nothing measurable.
constexpr std::size_t kBulkBatchRows = 64;

// SQLite's bulk insert: rows are copied into a batch (reusing its storage, so
// no allocation per row once warm), and each full batch goes out as one prepared
// multi-row INSERT, its values bound SQLITE_STATIC from the batch. The last,
// partial batch goes row by row through a single-row INSERT. Memory is one batch.
class SqliteBulkInsert final : public BulkInsert {
 public:
  SqliteBulkInsert(Connection& c, std::shared_ptr<Handle> handle, std::string table,
                   std::vector<std::string> columns)
      : BulkInsert(c, std::move(table), std::move(columns)), handle_(std::move(handle)) {
    try {
      columns_ = this->columns().size();
      std::size_t limit = static_cast<std::size_t>(
          std::max(1, sqlite3_limit(handle_->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1)));
      batch_rows_ = std::clamp<std::size_t>(limit / columns_, 1, kBulkBatchRows);
      std::string tuple = "(";
      for (std::size_t i = 0; i < columns_; ++i) tuple += i == 0 ? "?" : ", ?";
      tuple += ')';
      sql_ = "INSERT INTO " + bulk_target(this->table(), this->columns()) + " VALUES " + tuple;
      single_ = prepare(sql_);
      if (batch_rows_ > 1) {
        std::string sql = sql_;
        for (std::size_t r = 1; r < batch_rows_; ++r) sql += ", " + tuple;
        batch_ = prepare(sql);
      }
      pending_.resize(batch_rows_ * columns_);
      scratch_.resize(batch_rows_ * columns_);
    } catch (...) {
      abandon();
      throw;
    }
  }
  ~SqliteBulkInsert() override {
    abandon();
    sqlite3_finalize(batch_);
    sqlite3_finalize(single_);
  }

 private:
  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v3(handle_->db, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(st);
      located(rc, 0);
    }
    return st;
  }

  void write(std::span<const Value> row) override {
    Value* slot = &pending_[pending_rows_ * columns_];
    for (std::size_t i = 0; i < columns_; ++i) slot[i] = row[i];
    if (++pending_rows_ == batch_rows_) {
      // This row is number rows() + 1, the batch's last.
      send_pending(rows() + 2 - static_cast<std::int64_t>(pending_rows_));
    }
  }

  void complete() override {
    send_pending(rows() + 1 - static_cast<std::int64_t>(pending_rows_));
    sqlite3_clear_bindings(single_);
    if (batch_ != nullptr) sqlite3_clear_bindings(batch_);
  }

  void discard() noexcept override { pending_rows_ = 0; }

  // Inserts the pending rows, the first of which is row number `first`.
  void send_pending(std::int64_t first) {
    std::size_t count = std::exchange(pending_rows_, 0);
    if (count == batch_rows_ && batch_ != nullptr) {
      int rc = run(batch_, 0, count);
      if (rc == SQLITE_DONE) return;
      // A constraint failure undid only this statement: find the row at fault by
      // inserting the batch's rows one by one (the writer is rolled back anyway).
      if ((rc & 0xff) != SQLITE_CONSTRAINT || sqlite3_get_autocommit(handle_->db))
        located(rc, 0,
                fmt::format("rows {} to {}", first, first + static_cast<std::int64_t>(count) - 1));
    }
    for (std::size_t r = 0; r < count; ++r) {
      int rc = run(single_, r, 1);
      if (rc != SQLITE_DONE) located(rc, first + static_cast<std::int64_t>(r));
    }
  }

  // Binds `count` pending rows from `from` to `st`, steps it once and resets it.
  int run(sqlite3_stmt* st, std::size_t from, std::size_t count) {
    for (std::size_t k = 0; k < count * columns_; ++k) {
      std::size_t slot = from * columns_ + k;
      int rc = bind_param(st, static_cast<int>(k + 1), pending_[slot], scratch_[slot],
                          SQLITE_STATIC, SQLITE_STATIC);
      if (rc != SQLITE_OK) return rc;
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
  }

  // Throws SQLite's error for `rc`, naming the table and the row (0: no row;
  // `rows` then says which, if any).
  [[noreturn]] void located(int rc, std::int64_t row, std::string rows = {}) {
    std::string at = row > 0 ? where(row) : "bulk insert into " + quote_identifier(table());
    if (!rows.empty()) at += ", " + rows;
    try {
      fail(*handle_, rc, sql_);
    } catch (const DatabaseError& e) {
      throw_database_error(e.kind(), fmt::format("{}: {}", at, e.what()), e.native_code());
    }
  }

  std::shared_ptr<Handle> handle_;
  std::size_t columns_ = 0;
  std::size_t batch_rows_ = 1;
  std::string sql_;                  // the single-row INSERT
  sqlite3_stmt* single_ = nullptr;
  sqlite3_stmt* batch_ = nullptr;    // batch_rows_ rows; null when that is 1
  // Rows waiting for their batch, row-major; their storage is reused.
  std::vector<Value> pending_;
  std::size_t pending_rows_ = 0;
  // Date and timestamp text per pending value, kept until the step that reads it.
  std::vector<std::string> scratch_;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(std::shared_ptr<Handle> handle) : handle_(std::move(handle)) {}
  ~SqliteConnection() override { clear_statement_cache(); }

  Backend backend() const noexcept override { return Backend::sqlite; }

  std::int64_t execute(std::string_view sql, const Params& params) override {
    Lease st = acquire(sql);
    // `params` outlive every step here (the lease resets the statement before
    // execute() returns), so SQLite may point into them instead of copying them.
    bind(*st, params, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st->stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) fail(*handle_, rc, sql);
    return st->counts_changes ? sqlite3_changes64(handle_->db) : 0;
  }

  // Steps onto the first row here, so that errors (and the effects of
  // INSERT … RETURNING) happen at query() on SQLite as they do on PostgreSQL.
  Rows query(std::string_view sql, const Params& params) override {
    Lease st = acquire(sql);
    bind(*st, params, SQLITE_TRANSIENT);  // the cursor steps after `params` are gone
    int rc = sqlite3_step(st->stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(*handle_, rc, sql);
    st->refresh_names();
    return Rows(std::make_unique<SqliteCursor>(std::move(st), rc == SQLITE_ROW));
  }

  // Statement by statement rather than sqlite3_exec(), so that an error can say
  // which statement failed and on what line it starts. A script runs as one
  // unit, as a multi-statement query does on PostgreSQL: a failure leaves nothing
  // of it behind — until a statement that needs autocommit (see
  // needs_autocommit()) commits what came before it and the script takes over.
  void execute_script(std::string_view sql) override {
    enum class Wrap { none, transaction, savepoint };
    Wrap wrap = in_transaction() ? Wrap::savepoint : Wrap::transaction;
    execute(wrap == Wrap::transaction ? begin_sql() : "SAVEPOINT keel_script", {});
    auto finish = [&] {
      // A COMMIT that failed (busy) leaves the transaction open for the rollback below.
      execute(wrap == Wrap::transaction ? "COMMIT" : "RELEASE keel_script", {});
      wrap = Wrap::none;
    };
    try {
      const char* begin = sql.data();
      const char* end = begin + sql.size();
      const char* at = begin;
      for (;;) {
        std::size_t skip = skip_trivia(std::string_view(at, end - at));
        if (skip == std::string_view::npos) break;
        at += skip;
        if (wrap != Wrap::none && needs_autocommit(first_keyword(std::string_view(at, end - at))))
          finish();
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        int rc = sqlite3_prepare_v2(handle_->db, at, static_cast<int>(end - at), &raw, &tail);
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
        if (rc == SQLITE_OK && stmt) {
          while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
          }
          if (rc == SQLITE_DONE) rc = SQLITE_OK;
        }
        if (rc != SQLITE_OK) {
          auto line = 1 + std::count(begin, at, '\n');
          try {
            fail(*handle_, rc, std::string_view(at, (tail && tail > at ? tail : end) - at));
          } catch (const DatabaseError& e) {
            throw_database_error(e.kind(), fmt::format("script line {}: {}", line, e.what()),
                                 e.native_code());
          }
        }
        if (!tail || tail <= at) break;
        at = tail;
      }
      if (wrap != Wrap::none) finish();
    } catch (...) {
      // Best effort: if SQLite already rolled back by itself, these fail harmlessly.
      if (wrap == Wrap::transaction) {
        sqlite3_exec(handle_->db, "ROLLBACK", nullptr, nullptr, nullptr);
      } else if (wrap == Wrap::savepoint) {
        sqlite3_exec(handle_->db, "ROLLBACK TO keel_script; RELEASE keel_script", nullptr,
                     nullptr, nullptr);
      }
      throw;
    }
  }

  std::int64_t last_insert_id() override { return sqlite3_last_insert_rowid(handle_->db); }

  bool ping() noexcept override {
    return sqlite3_exec(handle_->db, "SELECT 1", nullptr, nullptr, nullptr) == SQLITE_OK;
  }

  std::string server_version() override { return sqlite3_libversion(); }

  void wal_checkpoint(CheckpointMode mode) override {
    int rc =
        sqlite3_wal_checkpoint_v2(handle_->db, nullptr, checkpoint_code(mode), nullptr, nullptr);
    if (rc != SQLITE_OK)
      fail(*handle_, sqlite3_extended_errcode(handle_->db),
           fmt::format("PRAGMA wal_checkpoint({})", checkpoint_name(mode)));
  }

  bool in_transaction() const noexcept override { return !sqlite3_get_autocommit(handle_->db); }
  bool broken() const noexcept override { return handle_->broken; }
  bool alive() noexcept override { return !handle_->broken; }
  std::size_t cached_statements() const noexcept override { return lru_.size(); }

  std::unique_ptr<BulkInsert> bulk_insert(std::string_view table,
                                          std::vector<std::string> columns) override {
    return std::make_unique<SqliteBulkInsert>(*this, handle_, std::string(table),
                                              std::move(columns));
  }

  void clear_statement_cache() override {
    // A statement an open Rows still steps stays alive through its lease and is
    // finalized when that Rows lets go.
    index_.clear();
    lru_.clear();
  }

 protected:
  void control(std::string_view sql) override { execute(sql, {}); }
  // A read-only connection cannot take the write lock IMMEDIATE asks for.
  std::string_view begin_sql() const noexcept override {
    return sqlite3_db_readonly(handle_->db, "main") == 1 ? "BEGIN" : "BEGIN IMMEDIATE";
  }

 private:
  // A statement for `sql`, idle and ready to bind: the cached one, or a fresh
  // uncached one when the cached one is still stepping (a nested query of the
  // same SQL).
  Lease acquire(std::string_view sql) {
    // The statement used last, found without hashing: a loop over one statement
    // is the common case.
    if (!lru_.empty() && lru_.front()->sql == sql && !lru_.front()->in_use)
      return Lease(lru_.front());
    if (auto it = index_.find(sql); it != index_.end()) {
      auto& st = *it->second;
      if (!st->in_use) {
        // Already reset and unbound: every Lease does that when it lets go.
        lru_.splice(lru_.begin(), lru_, it->second);
        return Lease(st);
      }
      return Lease(prepare(sql, false));
    }
    auto st = prepare(sql, true);
    lru_.push_front(st);
    index_.emplace(st->sql, lru_.begin());
    if (lru_.size() > kStatementCacheSize) {
      index_.erase(lru_.back()->sql);
      lru_.pop_back();
    }
    return Lease(std::move(st));
  }

  std::shared_ptr<Statement> prepare(std::string_view sql, bool persistent) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(handle_->db, sql.data(), static_cast<int>(sql.size()),
                                persistent ? SQLITE_PREPARE_PERSISTENT : 0, &raw, &tail);
    auto st = std::make_shared<Statement>();
    st->stmt = raw;  // finalized by ~Statement whatever happens below
    if (rc != SQLITE_OK) fail(*handle_, rc, sql);
    if (raw == nullptr)
      throw UsageError(fmt::format("no SQL statement to run in '{}'", sql_excerpt(sql)));
    std::string_view rest(tail, sql.data() + sql.size() - tail);
    if (!only_trivia(rest))
      throw UsageError(fmt::format(
          "execute() and query() run one statement, but more follows '{}': '{}'; use "
          "execute_script() for several statements",
          sql_excerpt(std::string_view(sql.data(), tail - sql.data())), sql_excerpt(rest)));
    st->handle = handle_;
    st->sql = std::string(sql);
    int count = sqlite3_bind_parameter_count(raw);
    st->params.resize(count);
    bool anonymous = false;
    for (int i = 1; i <= count; ++i) {
      const char* name = sqlite3_bind_parameter_name(raw, i);
      st->params[i - 1] = name ? name : "";
      if (name && name[0] != '?') {
        st->named_params = true;
      } else {
        anonymous = true;
      }
    }
    if (anonymous && st->named_params)
      throw UsageError(fmt::format(
          "the SQL mixes positional (?) and named (:name) placeholders; use one style: {}",
          sql_excerpt(sql)));
    std::string keyword = first_keyword(sql);
    st->counts_changes = keyword == "INSERT" || keyword == "UPDATE" || keyword == "DELETE" ||
                         keyword == "REPLACE" || (keyword == "WITH" && !sqlite3_stmt_readonly(raw));
    st->refresh_names();
    return st;
  }

  // `lifetime`: SQLITE_STATIC when `params` outlive the statement's steps.
  void bind(Statement& st, const Params& params, sqlite3_destructor_type lifetime) {
    const std::size_t count = st.params.size();
    if (!params.positional.empty() && !params.named.empty())
      throw UsageError(fmt::format(
          "parameters are either positional or named, not both, in SQL: {}", sql_excerpt(st.sql)));
    if (!params.named.empty() || (st.named_params && count > 0)) {
      bind_named(st, params.named, lifetime);
      return;
    }
    if (params.positional.size() != count)
      throw UsageError(
          fmt::format("the statement has {} placeholder{}, but {} parameter{} given "
                      "in SQL: {}",
                      count, count == 1 ? "" : "s", params.positional.size(),
                      params.positional.size() == 1 ? " was" : "s were", sql_excerpt(st.sql)));
    for (std::size_t i = 0; i < count; ++i)
      bind_value(st, static_cast<int>(i + 1), params.positional[i], lifetime);
  }

  void bind_named(Statement& st, const Named& named, sqlite3_destructor_type lifetime) {
    if (!st.named_params) {
      throw UsageError(fmt::format(
          "named parameters given, but the SQL has {} in SQL: {}",
          st.params.empty() ? "no placeholders" : "positional (?) placeholders; pass them in order",
          sql_excerpt(st.sql)));
    }
    std::vector<bool> bound(st.params.size(), false);
    for (std::size_t k = 0; k < named.size(); ++k) {
      const auto& [name, value] = named[k];
      for (std::size_t j = 0; j < k; ++j)
        if (named[j].first == name)
          throw UsageError(fmt::format("parameter '{}' is given twice", name));
      bool found = false;
      for (std::size_t i = 0; i < st.params.size(); ++i) {
        std::string_view placeholder = st.params[i];
        if (name == placeholder || name == placeholder.substr(1)) {
          bind_value(st, static_cast<int>(i + 1), value, lifetime);
          bound[i] = true;
          found = true;
        }
      }
      if (!found)
        throw UsageError(
            fmt::format("parameter '{}' matches no placeholder (the SQL has {}) in "
                        "SQL: {}",
                        name, fmt::join(st.params, ", "), sql_excerpt(st.sql)));
    }
    for (std::size_t i = 0; i < st.params.size(); ++i)
      if (!bound[i])
        throw UsageError(fmt::format("no value given for placeholder {} in SQL: {}", st.params[i],
                                     sql_excerpt(st.sql)));
  }

  void bind_value(Statement& st, int index, const Value& value,
                  sqlite3_destructor_type lifetime) {
    std::string scratch;  // gone before the step: always copied
    int rc = bind_param(st.stmt, index, value, scratch, lifetime, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) fail(*handle_, rc, st.sql);
  }

  std::shared_ptr<Handle> handle_;
  // Most recently used first.
  std::list<std::shared_ptr<Statement>> lru_;
  std::unordered_map<std::string, std::list<std::shared_ptr<Statement>>::iterator, StringHash,
                     std::equal_to<>>
      index_;
};

// sqlite3_open_v2() needs a URI to carry Url::params; percent-encode what would
// end the path or break a parameter.
std::string uri_encode(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || (ch != 0 && std::strchr("-._~!$'()*+,;:@/", ch) != nullptr)) {
      out += static_cast<char>(ch);
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

std::string open_uri(const Url& url) {
  std::string uri = "file:";
  if (url.is_memory()) {
    uri += ":memory:";
  } else {
    // An absolute path gets an empty authority; "file://x" would name a host.
    if (!url.path.empty() && url.path.front() == '/') uri += "//";
    uri += uri_encode(url.path);
  }
  char sep = '?';
  for (const auto& [key, value] : url.params) {
    uri += sep;
    uri += uri_encode(key);
    uri += '=';
    uri += uri_encode(value);
    sep = '&';
  }
  return uri;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// PRAGMA values cannot be bound, so every spliced one is checked against its list.
std::string checked(std::string_view key, std::string_view value,
                    std::initializer_list<std::string_view> allowed) {
  std::string v = lower(value);
  for (auto a : allowed)
    if (v == a) return v;
  throw ConfigError(fmt::format("database.sqlite.{}: '{}' is not one of {}", key, value,
                                fmt::join(allowed, ", ")));
}

// The single text value a PRAGMA answers with ("" when none).
std::string pragma(Handle& handle, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(handle.db, sql.c_str(), -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  if (rc != SQLITE_OK) fail(handle, rc, sql);
  std::string answer;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    if (answer.empty() && sqlite3_column_type(stmt.get(), 0) != SQLITE_NULL)
      answer = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
  }
  if (rc != SQLITE_DONE) fail(handle, rc, sql);
  return answer;
}

// Switching to WAL needs the file to itself for a moment. Two connections that both
// read the file first (two instances starting on a new database) can meet where
// SQLite answers SQLITE_BUSY at once instead of waiting (it would otherwise risk a
// deadlock), so the busy timeout alone does not cover the switch: it is retried
// until that timeout has passed.
std::string set_journal_mode(Handle& handle, const std::string& journal, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    try {
      return lower(pragma(handle, "PRAGMA journal_mode=" + journal));
    } catch (const DatabaseError& e) {
      int code = e.native_code() & 0xFF;
      if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
          std::chrono::steady_clock::now() >= deadline)
        throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Per-connection set-up from Config::sqlite, in an order that matters: the busy
// timeout first, so that switching to WAL (which needs a moment of exclusive
// access) waits for another connection instead of failing.
void configure(Handle& handle, const SqliteOptions& options) {
  std::string journal = checked("journal_mode", options.journal_mode,
                                {"wal", "delete", "truncate", "persist", "memory", "off"});
  std::string synchronous =
      checked("synchronous", options.synchronous, {"off", "normal", "full", "extra"});
  std::string temp_store;
  if (!options.temp_store.empty())
    temp_store = checked("temp_store", options.temp_store, {"default", "file", "memory"});
  if (options.busy_timeout_ms < 0)
    throw ConfigError(
        fmt::format("database.sqlite.busy_timeout_ms: {} is negative", options.busy_timeout_ms));

  sqlite3_busy_timeout(handle.db, options.busy_timeout_ms);
  // The journal mode is a property of the file, set by whoever may write it; a
  // read-only connection takes the file as it is.
  if (sqlite3_db_readonly(handle.db, "main") != 1) {
    std::string mode = set_journal_mode(handle, journal, options.busy_timeout_ms);
    const char* file = sqlite3_db_filename(handle.db, "main");
    bool in_memory = file == nullptr || *file == '\0';
    if (mode != journal && !in_memory)
      throw_database_error(ErrorKind::connection,
                           fmt::format("journal_mode={} did not take effect (SQLite kept '{}'); "
                                       "WAL needs a local file system that supports shared memory",
                                       journal, mode));
  }
  pragma(handle, "PRAGMA synchronous=" + synchronous);
  pragma(handle, std::string("PRAGMA foreign_keys=") + (options.foreign_keys ? "ON" : "OFF"));
  if (options.cache_size) pragma(handle, fmt::format("PRAGMA cache_size={}", *options.cache_size));
  if (!temp_store.empty()) pragma(handle, "PRAGMA temp_store=" + temp_store);
}

bool creates_file(const Url& url) {
  if (url.is_memory()) return false;
  auto mode = url.params.find("mode");
  return mode == url.params.end() || mode->second == "rwc";
}

}  // namespace

std::unique_ptr<Connection> open_sqlite(const Config& config) {
  const Url& url = config.url;
  std::string where = url.redacted();
  if (url.path.empty())
    throw ConnectionError(ErrorKind::connection,
                          fmt::format("cannot open SQLite database {}: the URL has no path "
                                      "(expected sqlite:///file.db or sqlite:///:memory:)",
                                      where));
  // Zero configuration means sqlite:///./data/app.db works on a fresh checkout.
  if (creates_file(url)) {
    auto parent = std::filesystem::path(url.path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
      std::filesystem::create_directories(parent, ec);
      if (ec)
        throw ConnectionError(ErrorKind::connection,
                              fmt::format("cannot open SQLite database {}: cannot create its "
                                          "directory {}: {}",
                                          where, parent.string(), ec.message()));
    }
  }
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX |
              SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(open_uri(url).c_str(), &db, flags, nullptr);
  auto handle = std::make_shared<Handle>(db);
  if (rc != SQLITE_OK) {
    std::string reason = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    std::error_code ec;
    std::string file =
        url.is_memory() ? url.path : std::filesystem::absolute(url.path, ec).string();
    throw ConnectionError(
        ErrorKind::connection,
        fmt::format("cannot open SQLite database {} ({}): {}", where, file, reason), rc);
  }
  sqlite3_extended_result_codes(db, 1);
  try {
    configure(*handle, config.sqlite);
  } catch (const DatabaseError& e) {
    // Say which database: a NOTADB or a refused WAL is about this file.
    throw_database_error(e.kind(),
                         fmt::format("setting up SQLite database {}: {}", where, e.what()),
                         e.native_code());
  }
  return std::make_unique<SqliteConnection>(std::move(handle));
}

}  // namespace keel::driver
