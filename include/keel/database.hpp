// keel/database.hpp — what an application holds.
//
//   keel::Database db(keel::resolve_config({}));
//   auto lock = db.instance_lock("mydaemon");           // throws AlreadyRunning
//   db.transaction([&](keel::Connection& c) { c.execute("…", {1, "x"}); });
//   for (const auto& row : db.query("SELECT id, name FROM t")) row.get<std::string>("name");
//
// A Database is thread-safe and cheap to share by reference; it connects lazily,
// so constructing one never fails on an unreachable server (health() reports it).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "keel/config.hpp"
#include "keel/connection.hpp"
#include "keel/dialect.hpp"
#include "keel/instance_lock.hpp"
#include "keel/pool.hpp"

namespace keel {

struct TransactionOptions {
  // Extra attempts after a retryable error (deadlock, serialization failure, busy).
  int retries = 0;
  // Wait before the first retry; doubles each attempt.
  std::chrono::milliseconds backoff{10};
};

// The outcome of Database::health().
struct HealthReport {
  bool ok = false;
  Backend backend = Backend::sqlite;
  std::string url;             // redacted
  std::string server_version;  // empty when unreachable
  double latency_ms = 0;       // round trip of a trivial query (includes connecting if needed)
  PoolStats pool;
  std::string error;  // why not ok

  // {"status":"ok"|"unhealthy","backend":…,"url":…,"server_version":…,"latency_ms":…,"pool":{…},"error":…}
  std::string to_json() const;
  // A few human-readable lines.
  std::string to_text() const;
};

class Database {
 public:
  // Prepares the pool; opens no connection yet. For sqlite:///:memory: the pool
  // holds exactly one connection (every connection would be a separate database).
  // A SQLite file's parent directory is created when missing.
  explicit Database(Config config);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const Config& config() const noexcept;
  Backend backend() const noexcept;
  const Dialect& dialect() const noexcept;

  // Runs fn(Connection&) in one transaction on a pooled connection: commits when
  // fn returns, rolls back and rethrows when it throws. Retryable errors are
  // retried `options.retries` times with the whole of fn run again.
  template <class F>
  decltype(auto) transaction(F&& fn, TransactionOptions options = {});

  // One statement in autocommit; returns rows affected.
  std::int64_t execute(std::string_view sql, const Params& params = {});
  // One query; the rows stream from a pooled connection, which returns to the
  // pool when the Rows is destroyed.
  Rows query(std::string_view sql, const Params& params = {});
  // The first row, or nullopt.
  std::optional<Row> query_one(std::string_view sql, const Params& params = {});
  // Every row of one query, read in one piece (Connection::query_all): for results
  // known to be small; the connection is back in the pool before this returns.
  std::vector<Row> query_all(std::string_view sql, const Params& params = {});

  // A pooled connection to use directly; returned when the lease is destroyed.
  Pool::Lease connection();
  Pool::Lease connection(std::chrono::milliseconds timeout);
  PoolStats pool_stats() const;

  // Status, backend, server version and latency; never throws and never waits
  // longer than `timeout` (a fresh connection is opened with that connect timeout).
  HealthReport health(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // The single-instance lock `name` (see keel/instance_lock.hpp); throws
  // AlreadyRunning when another process holds it.
  std::unique_ptr<InstanceLock> instance_lock(std::string_view name);

 private:
  void run_transaction(const std::function<void(Connection&)>& body, TransactionOptions options);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

template <class F>
decltype(auto) Database::transaction(F&& fn, TransactionOptions options) {
  using R = std::invoke_result_t<F, Connection&>;
  if constexpr (std::is_void_v<R>) {
    run_transaction([&](Connection& c) { std::invoke(fn, c); }, options);
  } else {
    std::optional<R> result;
    run_transaction([&](Connection& c) { result.emplace(std::invoke(fn, c)); }, options);
    return R(std::move(*result));
  }
}

}  // namespace keel
