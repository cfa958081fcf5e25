// keel/connection.hpp — one connection interface over sqlite3 and libpq.
//
// SQL is written once with `?` positional or `:name` named placeholders; the
// PostgreSQL driver rewrites them to `$n` with a lexer that leaves literals,
// quoted identifiers, comments and dollar quotes alone. Values are always bound,
// never spliced. Statements are prepared once per connection and cached.
//
// A Connection is used by one thread at a time; share a Database (keel/database.hpp),
// not a Connection, between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/value.hpp"

namespace keel {

// Named parameters for `:name` placeholders, e.g. Named{{"id", 7}, {"who", "ann"}}.
using Named = std::vector<std::pair<std::string, Value>>;

// The parameters of one statement: positional (for `?`) or named (for `:name`).
struct Params {
  std::vector<Value> positional;
  Named named;

  Params() = default;
  Params(std::initializer_list<Value> values) : positional(values) {}
  Params(std::vector<Value> values) : positional(std::move(values)) {}
  Params(Named values) : named(std::move(values)) {}
  bool empty() const noexcept { return positional.empty() && named.empty(); }
};

namespace detail {
// A backend's result stream; implemented in driver/.
class Cursor {
 public:
  virtual ~Cursor() = default;
  // Reads the next row into `row` (reusing its storage); false at the end.
  virtual bool next(Row& row) = 0;
};
}  // namespace detail

// The rows of one query, read from the backend one step at a time: memory does
// not grow with the result. Iterate once; copy a Row to keep it.
class Rows {
 public:
  Rows() = default;
  // `keepalive` is released with the cursor (e.g. a pooled connection's lease).
  explicit Rows(std::unique_ptr<detail::Cursor> cursor, std::shared_ptr<void> keepalive = {})
      : cursor_(std::move(cursor)), keepalive_(std::move(keepalive)) {}
  // The rest of `rows`, also keeping `keepalive` until they are closed (after the
  // cursor, so a pooled connection is returned only once its result is done).
  Rows(Rows&& rows, std::shared_ptr<void> keepalive);
  Rows(Rows&&) noexcept = default;
  Rows& operator=(Rows&&) noexcept;
  ~Rows();

  // Advances to the next row; false when there is none.
  bool next();
  // The current row (valid until the next step).
  const Row& row() const noexcept { return row_; }
  // Reads every remaining row into memory.
  std::vector<Row> all();
  // The next row, or nullopt; the rest of the result is discarded.
  std::optional<Row> one();

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Row;
    using difference_type = std::ptrdiff_t;
    using pointer = const Row*;
    using reference = const Row&;
    iterator() = default;
    explicit iterator(Rows* rows) : rows_(rows) { ++*this; }
    const Row& operator*() const { return rows_->row(); }
    const Row* operator->() const { return &rows_->row(); }
    iterator& operator++() {
      if (!rows_->next()) rows_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) { return a.rows_ == b.rows_; }

   private:
    Rows* rows_ = nullptr;
  };
  iterator begin() { return cursor_ ? iterator(this) : iterator(); }
  iterator end() { return iterator(); }

 private:
  void close() noexcept;
  std::unique_ptr<detail::Cursor> cursor_;
  std::shared_ptr<void> keepalive_;
  Row row_;
};

class Connection;

// Rows streamed into one table by Connection::bulk_insert(), sent as they come:
// memory does not grow with the number of rows. The connection must outlive the
// writer and runs nothing else until finish(). Destroying an unfinished writer
// abandons it: PostgreSQL is told to discard the COPY, and everything the writer
// wrote is rolled back (its own transaction, or its savepoint inside the caller's),
// so the connection is usable again at once.
class BulkInsert {
 public:
  virtual ~BulkInsert() = default;
  BulkInsert(const BulkInsert&) = delete;
  BulkInsert& operator=(const BulkInsert&) = delete;

  // Adds one row, a value per column in the order bulk_insert() named them. A value
  // the column cannot hold throws an Error naming table, row and column, after
  // rolling back everything this writer wrote.
  void add(std::span<const Value> row);
  void add(std::initializer_list<Value> row) {
    add(std::span<const Value>(row.begin(), row.size()));
  }
  // Sends what is buffered, ends the load (server-side errors, e.g. a duplicate key,
  // surface here on PostgreSQL, rolled back like add()'s) and commits its own
  // transaction or releases its savepoint; returns the rows written.
  std::int64_t finish();
  // Rows added so far.
  std::int64_t rows() const noexcept { return rows_; }
  const std::string& table() const noexcept { return table_; }
  const std::vector<std::string>& columns() const noexcept { return columns_; }

 protected:
  // Starts a transaction on `connection`, or a savepoint inside its open one.
  BulkInsert(Connection& connection, std::string table, std::vector<std::string> columns);
  // Writes one row (row number rows() + 1); throws naming table, row and column.
  virtual void write(std::span<const Value> row) = 0;
  // Sends the rest and completes the load on the server.
  virtual void complete() = 0;
  // Stops a load in progress without keeping any of it.
  virtual void discard() noexcept = 0;
  // Every subclass destructor calls this first: discards an unfinished load and
  // rolls back the writer's transaction or savepoint.
  void abandon() noexcept;
  // "bulk insert into "t", row N" — the start of every message about row N.
  std::string where(std::int64_t row) const;
  Connection& connection() const noexcept { return connection_; }

 private:
  enum class State { open, finished, failed };
  Connection& connection_;
  std::string table_;
  std::vector<std::string> columns_;
  std::int64_t rows_ = 0;
  int depth_ = 0;  // the transaction depth that belongs to this writer
  State state_ = State::open;
};

// What wal_checkpoint() asks SQLite for.
enum class CheckpointMode { passive, full, restart, truncate };

class Connection {
 public:
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  virtual Backend backend() const noexcept = 0;

  // Runs one statement and returns the number of rows it inserted, updated or
  // deleted (0 for DDL).
  virtual std::int64_t execute(std::string_view sql, const Params& params = {}) = 0;
  // Runs one query and streams its rows. On PostgreSQL, starting another
  // statement on this connection first reads the rest of an open result into memory.
  virtual Rows query(std::string_view sql, const Params& params = {}) = 0;
  // The rows of query(sql, params).all(), read from the backend in one piece: faster
  // for results known to be small (PostgreSQL sends them as one result, not row by
  // row), but memory grows with the result.
  virtual std::vector<Row> query_all(std::string_view sql, const Params& params = {}) {
    return query(sql, params).all();
  }
  // Streams the rows of one SELECT without parameters the fastest way the backend
  // has, as the same Values query() gives: PostgreSQL sends them as a binary
  // COPY (…) TO STDOUT; SQLite runs query(). Nothing else may run on this
  // connection until the Rows are read to their end or destroyed.
  virtual Rows bulk_read(std::string_view select_sql) { return query(select_sql); }
  // The first row of a query, or nullopt; the rest is discarded.
  std::optional<Row> query_one(std::string_view sql, const Params& params = {});
  // Runs a script of ;-separated statements without parameters (DDL, data fixes).
  virtual void execute_script(std::string_view sql) = 0;
  // The key of the last row inserted on this connection: SQLite's rowid,
  // PostgreSQL's lastval(). Prefer RETURNING where the SQL is yours.
  virtual std::int64_t last_insert_id() = 0;

  // Starts a transaction, or a savepoint inside an open one. On SQLite the outer
  // transaction is BEGIN IMMEDIATE: writers queue on the busy timeout instead of
  // failing when a read lock cannot be upgraded.
  void begin();
  // Commits the innermost transaction or releases the innermost savepoint.
  void commit();
  // Rolls back the innermost transaction or savepoint.
  void rollback();
  // 0 outside a transaction, 1 inside, 2+ inside savepoints.
  int transaction_depth() const noexcept { return depth_; }
  // Runs fn() (or fn(*this)) inside begin()/commit(); rolls back and rethrows on an
  // exception. Nested calls become savepoints, so an inner failure that is caught
  // undoes only the inner work.
  template <class F>
  decltype(auto) transaction(F&& fn);

  // True when the backend answers a trivial query now.
  virtual bool ping() noexcept = 0;
  // The backend's version string, e.g. "3.40.1" or "15.18".
  virtual std::string server_version() = 0;
  // SQLite: PRAGMA wal_checkpoint(mode) so the WAL does not grow unbounded.
  // PostgreSQL: does nothing.
  virtual void wal_checkpoint(CheckpointMode mode = CheckpointMode::passive) = 0;
  // True while the backend holds an open transaction for this connection,
  // whoever began it (also one begun with raw SQL).
  virtual bool in_transaction() const noexcept = 0;
  // True once the connection is known to be unusable (server gone, fatal error).
  virtual bool broken() const noexcept = 0;
  // A cheap local check, no round trip: false when the server has visibly closed
  // the connection (e.g. pg_terminate_backend). The pool's pre-ping uses it on
  // checkout of a connection idle half a second or more, and adds a real ping()
  // only for connections idle a while longer.
  virtual bool alive() noexcept = 0;
  // Prepared statements currently cached on this connection.
  virtual std::size_t cached_statements() const noexcept = 0;
  // Drops every cached prepared statement (e.g. after schema changes).
  virtual void clear_statement_cache() = 0;
  // Streams rows into `table`'s `columns` (quoted, never spliced raw), faster than
  // one INSERT per row: binary COPY on PostgreSQL, a reused prepared INSERT on SQLite.
  // Runs in the open transaction (inside a savepoint) or in its own one.
  virtual std::unique_ptr<BulkInsert> bulk_insert(std::string_view table,
                                                  std::vector<std::string> columns);

  // When this connection was opened (the pool recycles old ones).
  std::chrono::steady_clock::time_point opened_at() const noexcept { return opened_at_; }
  // Rolls back whatever transaction is open, also one begun with raw SQL, and
  // forgets any savepoints (the pool calls this when a connection is returned).
  void abandon_transaction();

 protected:
  Connection() = default;
  // Runs a transaction-control statement: BEGIN, COMMIT, ROLLBACK, SAVEPOINT….
  virtual void control(std::string_view sql) = 0;
  // The statement that starts an outermost transaction.
  virtual std::string_view begin_sql() const noexcept { return "BEGIN"; }

 private:
  int depth_ = 0;
  std::chrono::steady_clock::time_point opened_at_ = std::chrono::steady_clock::now();
};

template <class F>
decltype(auto) Connection::transaction(F&& fn) {
  begin();
  try {
    if constexpr (std::is_invocable_v<F, Connection&>) {
      if constexpr (std::is_void_v<std::invoke_result_t<F, Connection&>>) {
        std::invoke(fn, *this);
        commit();
      } else {
        auto result = std::invoke(fn, *this);
        commit();
        return result;
      }
    } else {
      if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
        std::invoke(fn);
        commit();
      } else {
        auto result = std::invoke(fn);
        commit();
        return result;
      }
    }
  } catch (...) {
    try {
      if (transaction_depth() > 0) rollback();
    } catch (...) {
      // The original error is the one worth reporting.
    }
    throw;
  }
}

// Opens a connection for `config` and applies its per-connection set-up (SQLite
// PRAGMAs; PostgreSQL session settings, TimeZone=UTC). Throws ConnectionError
// with the URL redacted; gives up after the connect timeout.
std::unique_ptr<Connection> connect(const Config& config);

// Copies the SQLite database of `config` to the new file `path` as one consistent
// snapshot (SQLite's online backup API); refuses an existing `path`, and is a
// UsageError for PostgreSQL (use pg_dump) and for an in-memory database.
void backup_database(const Config& config, const std::string& path);

}  // namespace keel
