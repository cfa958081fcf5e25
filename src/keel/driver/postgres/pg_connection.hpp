// driver/postgres/pg_connection.hpp — the libpq Connection. Internal.
//
// Every statement goes out with PQsend* and every wait for the server is in
// wait_readable()/flush(), so that an asynchronous API can later replace those two
// with a coroutine suspension and keep the rest.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "driver/placeholders.hpp"
#include "driver/postgres/codec.hpp"
#include "driver/postgres/libpq.hpp"
#include "keel/config.hpp"
#include "keel/connection.hpp"

namespace keel::driver::pg {

class PgCursor;
class PgBulkInsert;

// Owns a PGresult.
struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { libpq().PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// A result's column names and type OIDs: shared by all its rows, and kept with the
// prepared statement so that each execution need not build them again.
struct ResultShape {
  std::vector<std::string> names;
  std::vector<Oid> types;
};

class PgConnection final : public Connection {
 public:
  // Connects, or throws ConnectionError with the URL redacted.
  explicit PgConnection(const Config& config);
  ~PgConnection() override;

  Backend backend() const noexcept override { return Backend::postgresql; }
  std::int64_t execute(std::string_view sql, const Params& params = {}) override;
  Rows query(std::string_view sql, const Params& params = {}) override;
  std::vector<Row> query_all(std::string_view sql, const Params& params = {}) override;
  void execute_script(std::string_view sql) override;
  std::int64_t last_insert_id() override;
  bool ping() noexcept override;
  std::string server_version() override;
  void wal_checkpoint(CheckpointMode) override {}
  bool in_transaction() const noexcept override;
  bool broken() const noexcept override;
  bool alive() noexcept override;
  std::size_t cached_statements() const noexcept override { return lru_.size(); }
  void clear_statement_cache() override;
  std::unique_ptr<BulkInsert> bulk_insert(std::string_view table,
                                          std::vector<std::string> columns) override;
  Rows bulk_read(std::string_view select_sql) override;  // copy_out.cpp

  // The redacted URL, for messages.
  const std::string& where() const noexcept { return where_; }

  // --- used by PgCursor -------------------------------------------------------
  // The next result of the statement in flight, waiting for it; nullptr at the end.
  Result next_result();
  // Throws the keel error for a failed result (or a lost connection).
  [[noreturn]] void throw_result_error(const PGresult* result, std::string_view sql);
  // Sends a cancel request for the statement in flight (best effort).
  void cancel() noexcept;
  void cursor_closed(PgCursor* cursor) noexcept;

 protected:
  void control(std::string_view sql) override;

 private:
  // The bulk writer drives the COPY sub-protocol over this connection's socket.
  friend class PgBulkInsert;
  friend class PgCopyReader;
  // Refuses another statement while a COPY owns the connection.
  void check_not_copying(std::string_view sql) const;
  // Sends `sql`, a COPY, and waits until the server enters `mode` (PGRES_COPY_IN or
  // PGRES_COPY_OUT); from then on other statements are refused naming `*busy`, until
  // the caller clears copying_. Throws the server's error if the COPY is refused.
  void start_copy(const std::string& sql, ExecStatusType mode, const std::string* busy);

 private:
  struct Statement {
    std::string sql;  // the key: the SQL as the application wrote it
    std::string name;
    Placeholders placeholders;
    bool read_only = false;                    // see read_only() in connection.cpp
    std::shared_ptr<const ResultShape> shape;  // of its last result, once known
  };
  using Lru = std::list<Statement>;

  void connect(const Config& config);
  // Reads the rest of an open cursor's result into memory so the connection is free.
  void finish_active();
  // Waits until the socket is readable, then reads what has arrived.
  void wait_readable();
  // Pushes the send buffer out (the connection is in non-blocking mode).
  void flush();
  // Sends one statement (prepared and cached, or unnamed) and its parameters.
  void send(std::string_view sql, const Params& params, bool single_row);
  // The cached statement for `sql`, preparing it on a miss; nullptr for utility
  // statements, which are sent unnamed.
  Statement* prepared(std::string_view sql, const Placeholders** placeholders,
                      Placeholders& scratch);
  void deallocate(const std::string& name);
  // Sends a statement and returns its first result; a failure is thrown, after one
  // retry when a cached plan went stale outside a transaction.
  Result start(std::string_view sql, const Params& params, bool single_row);
  // start() for one statement of execute()/query(): SQL holding several is refused
  // with a message pointing at execute_script().
  Result start_one(std::string_view sql, const Params& params, bool single_row);
  // Runs statements with the simple protocol; returns the last result with rows
  // (else the last result) and throws the first error.
  Result simple(std::string_view sql);
  [[noreturn]] void throw_connection_lost(std::string_view sql);
  void mark_broken() noexcept { broken_ = true; }
  static void on_notice(void* self, const PGresult* result);

  PGconn* conn_ = nullptr;
  std::string where_;
  bool broken_ = false;
  PgCursor* active_ = nullptr;
  // The transaction status when the statement in flight was sent.
  PGTransactionStatusType status_before_ = PQTRANS_IDLE;
  Lru lru_;  // most recently used first
  std::unordered_map<std::string_view, Lru::iterator> by_sql_;
  Statement* last_statement_ = nullptr;  // the named statement send() used last
  std::vector<std::string> pending_deallocate_;
  // Scratch for send(), kept so that a statement's parameters cost no allocation
  // once warm.
  std::vector<const Value*> arranged_;
  EncodedParams encoded_;
  std::uint64_t next_statement_ = 0;
  // What holds the connection in a COPY, said when another statement is refused.
  const std::string* copying_ = nullptr;
};

// Opens a PostgreSQL connection as PgConnection (the instance lock needs one).
std::unique_ptr<PgConnection> open(const Config& config);

}  // namespace keel::driver::pg
