// The PostgreSQL Connection over libpq.
//
// Statements use the extended protocol through PQsend*: prepared once per
// connection and cached by SQL text (utility statements go unnamed), parameters in
// text format except bytea, rows streamed in single-row mode (query_all() takes
// them as one result instead). The connection runs in libpq's non-blocking mode
// and every wait is a poll() in wait_readable() or flush() — the two places an
// asynchronous API will suspend instead.
#include "driver/postgres/pg_connection.hpp"

#include <poll.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <map>

#include "driver/backends.hpp"
#include "driver/postgres/codec.hpp"
#include "keel/error.hpp"

namespace keel::driver::pg {

namespace {

// Prepared statements kept per connection; the least recently used is deallocated.
constexpr std::size_t kMaxStatements = 256;
// Rows an abandoned cursor reads before it asks the server to cancel instead.
constexpr int kDrainBeforeCancel = 1000;

// libpq's messages end in a newline, continue on tab-indented lines and quote the
// server's "FATAL:  " severity prefix; one line reads better in a log.
std::string one_line(const char* text) {
  std::string out;
  for (const char* p = text ? text : ""; *p; ++p) {
    if (*p == '\n') {
      while (p[1] == '\t' || p[1] == ' ') ++p;
      if (p[1] != '\0') out += "; ";
    } else {
      out += *p;
    }
  }
  for (std::string_view prefix : {"FATAL:  ", "ERROR:  "}) {
    for (std::size_t at; (at = out.find(prefix)) != std::string::npos;) out.erase(at, prefix.size());
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

ErrorKind kind_of(std::string_view state) {
  if (state == "23505") return ErrorKind::unique_violation;
  if (state == "23503") return ErrorKind::foreign_key_violation;
  if (state == "23502") return ErrorKind::not_null_violation;
  if (state == "23514") return ErrorKind::check_violation;
  if (state == "40P01") return ErrorKind::deadlock;
  if (state == "40001") return ErrorKind::serialization_failure;
  if (state == "55P03") return ErrorKind::busy;
  if (state == "57014") return ErrorKind::timeout;
  if (state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03")
    return ErrorKind::connection;
  if (state == "42601") return ErrorKind::syntax;
  if (state == "42P01" || state == "42703" || state == "42883" || state == "42704")
    return ErrorKind::undefined_object;
  return ErrorKind::other;
}

// The first keyword, skipping blanks, comments and opening parentheses.
std::string first_keyword(std::string_view sql) {
  std::size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(') {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) return {};
    } else if (sql.substr(i, 2) == "/*") {
      std::size_t end = sql.find("*/", i + 2);  // nesting is too rare here to matter
      if (end == std::string_view::npos) return {};
      i = end + 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])))
    word += static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i++])));
  return word;
}

// Statements worth a named prepared statement: the ones that run many times. DDL
// and other utility statements are sent unnamed.
bool worth_preparing(std::string_view keyword) {
  return keyword == "select" || keyword == "insert" || keyword == "update" ||
         keyword == "delete" || keyword == "with" || keyword == "values" || keyword == "table" ||
         keyword == "merge";
}

// Statements a cancel cannot make lose work (outside a transaction).
bool read_only(std::string_view keyword) {
  return keyword == "select" || keyword == "values" || keyword == "table" || keyword == "show";
}

int wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------
// Rows of a result as Values, the column names shared by all of them.

class RowDecoder {
 public:
  // `cached` is the statement's cached result shape (null for an unnamed one).
  explicit RowDecoder(std::shared_ptr<const ResultShape>* cached) : cached_shape_(cached) {}

  // Learns the columns from the first result with rows; later calls do nothing.
  void describe(const PGresult* r) {
    if (names_) return;
    if (cached_shape_ != nullptr && *cached_shape_ && same_shape(**cached_shape_, r)) {
      shape_ = *cached_shape_;
    } else {
      int n = libpq().PQnfields(r);
      auto shape = std::make_shared<ResultShape>();
      shape->names.reserve(static_cast<std::size_t>(n));
      shape->types.resize(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        shape->names.emplace_back(libpq().PQfname(r, i));
        shape->types[static_cast<std::size_t>(i)] = libpq().PQftype(r, i);
      }
      shape_ = std::move(shape);
      if (cached_shape_ != nullptr) *cached_shape_ = shape_;
    }
    names_ = std::shared_ptr<const std::vector<std::string>>(shape_, &shape_->names);
  }

  // Row `row` of `r` into `out`, reusing the storage of the Values it holds.
  void decode(const PGresult* r, int row, std::vector<Value>& out) const {
    const std::vector<Oid>& types = shape_->types;
    out.resize(types.size());
    for (int i = 0, n = static_cast<int>(types.size()); i < n; ++i) {
      Value& v = out[static_cast<std::size_t>(i)];
      if (libpq().PQgetisnull(r, row, i)) {
        v = Value();
      } else {
        decode_value(types[static_cast<std::size_t>(i)], libpq().PQgetvalue(r, row, i),
                     libpq().PQgetlength(r, row, i), v);
      }
    }
  }

  const std::shared_ptr<const std::vector<std::string>>& names() const noexcept {
    return names_;
  }
  // The statement's cache may go away from now on (the result has been read).
  void forget_cache() noexcept { cached_shape_ = nullptr; }

 private:
  static bool same_shape(const ResultShape& shape, const PGresult* r) {
    int n = libpq().PQnfields(r);
    if (static_cast<std::size_t>(n) != shape.types.size()) return false;
    for (int i = 0; i < n; ++i) {
      auto k = static_cast<std::size_t>(i);
      if (libpq().PQftype(r, i) != shape.types[k] || shape.names[k] != libpq().PQfname(r, i))
        return false;
    }
    return true;
  }

  std::shared_ptr<const ResultShape>* cached_shape_;  // null once forgotten
  std::shared_ptr<const ResultShape> shape_;
  std::shared_ptr<const std::vector<std::string>> names_;  // aliases shape_->names
};

// ---------------------------------------------------------------------------
// The cursor: one PGresult per row in single-row mode.

class PgCursor final : public detail::Cursor {
 public:
  // `shape` is the statement's cached result shape (null for an unnamed one); it
  // lives as long as the statement, which outlives the cursor's reading from the
  // connection: the connection buffers an open cursor before it evicts anything.
  PgCursor(PgConnection* conn, std::string sql, Result first, bool may_cancel,
           std::shared_ptr<const ResultShape>* shape)
      : conn_(conn),
        sql_(std::move(sql)),
        pending_(std::move(first)),
        may_cancel_(may_cancel),
        decoder_(shape) {}

  ~PgCursor() override {
    if (conn_ == nullptr) return;
    // Abandoned before the end: the connection cannot run anything else until the
    // result is consumed. Reading it out keeps any side effects; a long read-only
    // query outside a transaction is cancelled instead.
    pending_.reset();
    try {
      int drained = 0;
      while (Result r = conn_->next_result()) {
        if (++drained == kDrainBeforeCancel && may_cancel_) conn_->cancel();
      }
    } catch (...) {
      // Only a lost connection gets here; broken() already says so.
    }
    conn_->cursor_closed(this);
  }

  bool next(Row& row) override {
    while (true) {
      if (!buffered_.empty()) {
        set_row(row, std::move(buffered_.front()));
        buffered_.pop_front();
        return true;
      }
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      if (conn_ == nullptr) return false;
      Result r = pending_ ? std::move(pending_) : conn_->next_result();
      if (!r) {
        finish();
        return false;
      }
      if (libpq().PQresultStatus(r.get()) == PGRES_SINGLE_TUPLE) {
        decoder_.describe(r.get());
        std::vector<Value> values = std::move(row.values());
        decoder_.decode(r.get(), 0, values);
        set_row(row, std::move(values));
        return true;
      }
      take(std::move(r));  // the end of the result, or an error: loop to report it
    }
  }

  // Reads everything still to come into memory, so the connection can run another
  // statement; an error is kept to be thrown after the buffered rows.
  void buffer_rest() noexcept {
    try {
      if (pending_) take(std::move(pending_));
      while (conn_ != nullptr) {
        Result r = conn_->next_result();
        if (!r) break;
        take(std::move(r));
      }
    } catch (...) {
      error_ = std::current_exception();
    }
    finish();
  }

  // The connection is going away; the result ends here.
  void detach() noexcept {
    conn_ = nullptr;
    decoder_.forget_cache();
    pending_.reset();
  }

 private:
  // Handles a result that is not a streamed row: rows (single-row mode ended or
  // buffering), the final status, or an error (drained, then thrown).
  void take(Result r) {
    switch (libpq().PQresultStatus(r.get())) {
      case PGRES_SINGLE_TUPLE:
      case PGRES_TUPLES_OK:
        decoder_.describe(r.get());
        for (int i = 0, n = libpq().PQntuples(r.get()); i < n; ++i) {
          std::vector<Value> values;
          decoder_.decode(r.get(), i, values);
          buffered_.push_back(std::move(values));
        }
        return;
      case PGRES_FATAL_ERROR: {
        while (conn_ != nullptr && conn_->next_result()) {
        }
        PgConnection* conn = conn_;
        finish();
        conn->throw_result_error(r.get(), sql_);
      }
      default:
        return;
    }
  }

  void finish() noexcept {
    if (conn_ != nullptr) conn_->cursor_closed(this);
    conn_ = nullptr;
    decoder_.forget_cache();
  }

  void set_row(Row& row, std::vector<Value> values) const {
    if (row.names() != decoder_.names()) {
      row = Row(decoder_.names(), std::move(values));
    } else {
      row.values() = std::move(values);
    }
  }

  PgConnection* conn_;  // null once the result has been read to its end
  std::string sql_;
  Result pending_;      // received by query(), not yet handed out
  bool may_cancel_;
  RowDecoder decoder_;
  std::deque<std::vector<Value>> buffered_;
  std::exception_ptr error_;
};

// ---------------------------------------------------------------------------
// Connecting.

PgConnection::PgConnection(const Config& config) { connect(config); }

PgConnection::~PgConnection() {
  // A Rows may outlive its connection: it keeps the rest of its result in memory.
  if (active_ != nullptr) active_->buffer_rest();
  if (active_ != nullptr) active_->detach();
  if (conn_ != nullptr) libpq().PQfinish(conn_);
}

void PgConnection::connect(const Config& config) {
  const Url& url = config.url;
  where_ = url.redacted();
  const PostgresOptions& pg = config.postgresql;

  // The config section first, so that the URL's own parameters win.
  std::map<std::string, std::string> kw;
  if (pg.connect_timeout_s > 0) kw["connect_timeout"] = std::to_string(pg.connect_timeout_s);
  if (!pg.application_name.empty()) kw["application_name"] = pg.application_name;
  if (!pg.sslmode.empty()) kw["sslmode"] = pg.sslmode;
  for (const auto& [key, value] : url.params) kw[key] = value;
  if (!url.host.empty()) kw["host"] = url.host;
  if (!url.port.empty()) kw["port"] = url.port;
  if (!url.dbname.empty()) kw["dbname"] = url.dbname;
  if (!url.user.empty()) kw["user"] = url.user;
  if (url.password) kw["password"] = *url.password;
  // Session settings travel in the startup packet: no extra round trip. DateStyle
  // and bytea_output pin the text formats the decoder reads; the user's own
  // options come last, so they win.
  std::string options = fmt::format(
      "-c TimeZone=UTC -c statement_timeout={} -c DateStyle=ISO -c bytea_output=hex",
      pg.statement_timeout_ms);
  if (auto it = url.params.find("options"); it != url.params.end() && !it->second.empty())
    options += " " + it->second;
  kw["options"] = options;
  kw["client_encoding"] = "UTF8";

  std::vector<const char*> keys, values;
  for (const auto& [key, value] : kw) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  // libpq's connect_timeout applies per host and is at least 2 s; the deadline
  // here is the configured one, once per host of a multi-host list.
  int timeout_s = 0;
  if (auto it = kw.find("connect_timeout"); it != kw.end()) timeout_s = std::atoi(it->second.c_str());
  std::size_t hosts = 1;
  if (auto it = kw.find("host"); it != kw.end())
    hosts += static_cast<std::size_t>(std::count(it->second.begin(), it->second.end(), ','));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s) * hosts;

  // Thrown from the constructor, so the destructor will not close the PGconn.
  auto fail = [&](const std::string& reason) {
    std::string message = fmt::format("cannot connect to {}: {}", where_, reason);
    if (conn_ != nullptr) libpq().PQfinish(conn_);
    conn_ = nullptr;
    throw_database_error(ErrorKind::connection, message);
  };
  // The first connection loads libpq; a machine without it hears which URL needed it.
  try {
    libpq();
  } catch (const ConnectionError& e) {
    fail(e.what());
  }
  conn_ = libpq().PQconnectStartParams(keys.data(), values.data(), 0);
  if (conn_ == nullptr) fail("out of memory");
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (libpq().PQstatus(conn_) != CONNECTION_BAD && state != PGRES_POLLING_OK &&
         state != PGRES_POLLING_FAILED) {
    int wait_ms = -1;
    if (timeout_s > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) fail(fmt::format("timed out after {} s (connect_timeout)", timeout_s));
      wait_ms = static_cast<int>(left.count());
    }
    int r = wait_fd(libpq().PQsocket(conn_), state == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                    wait_ms);
    if (r == 0) fail(fmt::format("timed out after {} s (connect_timeout)", timeout_s));
    state = libpq().PQconnectPoll(conn_);
  }
  if (libpq().PQstatus(conn_) != CONNECTION_OK) fail(one_line(libpq().PQerrorMessage(conn_)));

  libpq().PQsetNoticeReceiver(conn_, &PgConnection::on_notice, this);
  if (libpq().PQsetnonblocking(conn_, 1) != 0) fail(one_line(libpq().PQerrorMessage(conn_)));
}

// Notices (WARNING, NOTICE…) are not printed to stderr as libpq would. A FATAL
// one arrives when the server ends the session while we are idle, e.g.
// pg_terminate_backend: the connection is gone even if the socket has not said so.
void PgConnection::on_notice(void* self, const PGresult* result) {
  const char* severity = libpq().PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity != nullptr && (std::strcmp(severity, "FATAL") == 0 ||
                              std::strcmp(severity, "PANIC") == 0))
    static_cast<PgConnection*>(self)->mark_broken();
}

std::unique_ptr<PgConnection> open(const Config& config) {
  return std::make_unique<PgConnection>(config);
}

// ---------------------------------------------------------------------------
// Waiting and results.

void PgConnection::wait_readable() {
  int fd = libpq().PQsocket(conn_);
  if (fd < 0) {
    mark_broken();
    return;
  }
  wait_fd(fd, POLLIN, -1);
  if (libpq().PQconsumeInput(conn_) == 0) mark_broken();
}

void PgConnection::flush() {
  while (true) {
    int r = libpq().PQflush(conn_);
    if (r == 0) return;
    if (r < 0 || libpq().PQsocket(conn_) < 0) throw_connection_lost({});
    // Read while waiting to write, or a server blocked on a full send buffer of
    // its own would never drain ours.
    int fd = libpq().PQsocket(conn_);
    pollfd p{fd, POLLIN | POLLOUT, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    if ((p.revents & POLLIN) != 0 && libpq().PQconsumeInput(conn_) == 0) throw_connection_lost({});
  }
}

Result PgConnection::next_result() {
  while (libpq().PQisBusy(conn_) != 0 && libpq().PQstatus(conn_) != CONNECTION_BAD && !broken_)
    wait_readable();
  Result r(libpq().PQgetResult(conn_));
  if (!r) return r;
  switch (libpq().PQresultStatus(r.get())) {
    case PGRES_COPY_IN:
      // COPY FROM STDIN needs a data source this API does not take: refuse it, and
      // the server answers with an error the caller sees.
      libpq().PQputCopyEnd(conn_, "keel: COPY FROM STDIN is not supported by execute()/query()");
      flush();
      return next_result();
    case PGRES_COPY_OUT:
      while (true) {
        char* buf = nullptr;
        int n = libpq().PQgetCopyData(conn_, &buf, 1);
        if (buf != nullptr) libpq().PQfreemem(buf);
        if (n == 0) {
          wait_readable();
          if (broken()) break;
        } else if (n < 0) {
          break;
        }
      }
      return next_result();
    default:
      return r;
  }
}

void PgConnection::cancel() noexcept {
  PGcancel* c = libpq().PQgetCancel(conn_);
  if (c == nullptr) return;
  char err[256];
  libpq().PQcancel(c, err, sizeof err);
  libpq().PQfreeCancel(c);
}

void PgConnection::cursor_closed(PgCursor* cursor) noexcept {
  if (active_ == cursor) active_ = nullptr;
}

void PgConnection::finish_active() {
  if (active_ != nullptr) active_->buffer_rest();
  active_ = nullptr;
}

void PgConnection::throw_connection_lost(std::string_view sql) {
  mark_broken();
  std::string reason = one_line(libpq().PQerrorMessage(conn_));
  if (reason.empty()) reason = "server closed the connection";
  throw_database_error(
      ErrorKind::connection,
      sql.empty() ? fmt::format("connection to {} lost: {}", where_, reason)
                  : fmt::format("connection to {} lost: {} (SQL: {})", where_, reason,
                                sql_excerpt(sql)));
}

void PgConnection::throw_result_error(const PGresult* result, std::string_view sql) {
  const char* state_field = libpq().PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string state = state_field ? state_field : "";
  if (libpq().PQstatus(conn_) == CONNECTION_BAD || (state.empty() && broken_))
    throw_connection_lost(sql);
  ErrorKind kind = state.empty() ? ErrorKind::other : kind_of(state);
  const char* primary = libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = primary ? primary : one_line(libpq().PQresultErrorMessage(result));
  if (const char* detail = libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL))
    message += fmt::format(" (DETAIL: {})", one_line(detail));
  if (const char* hint = libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_HINT))
    message += fmt::format(" (HINT: {})", one_line(hint));
  if (kind == ErrorKind::connection) {
    mark_broken();
    message = fmt::format("connection to {} lost: {}", where_, message);
  }
  if (!sql.empty()) message += fmt::format(" (SQL: {})", sql_excerpt(sql));
  throw_database_error(kind, message, 0, std::move(state));
}

// ---------------------------------------------------------------------------
// Statements.

PgConnection::Statement* PgConnection::prepared(std::string_view sql,
                                                const Placeholders** placeholders,
                                                Placeholders& scratch) {
  if (auto it = by_sql_.find(sql); it != by_sql_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    *placeholders = &it->second->placeholders;
    return &*it->second;
  }
  scratch = rewrite_placeholders(sql);
  *placeholders = &scratch;
  return nullptr;
}

void PgConnection::deallocate(const std::string& name) {
  // DEALLOCATE fails in an aborted transaction; it can wait for the next statement.
  if (libpq().PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    pending_deallocate_.push_back(name);
    return;
  }
  simple("DEALLOCATE " + name);
}

void PgConnection::send(std::string_view sql, const Params& params, bool single_row) {
  check_not_copying(sql);
  finish_active();
  if (broken()) throw_connection_lost(sql);
  if (!pending_deallocate_.empty() && libpq().PQtransactionStatus(conn_) != PQTRANS_INERROR) {
    std::string script;
    for (const auto& name : pending_deallocate_) script += "DEALLOCATE " + name + ";";
    pending_deallocate_.clear();
    simple(script);
  }

  Placeholders scratch;
  const Placeholders* placeholders = nullptr;
  Statement* statement = prepared(sql, &placeholders, scratch);
  arrange_params(*placeholders, params, sql, arranged_);
  EncodedParams& encoded = encoded_;
  encode_params(arranged_, *placeholders, sql, encoded);

  if (statement == nullptr && worth_preparing(first_keyword(sql))) {
    if (lru_.size() >= kMaxStatements) {
      std::string victim = lru_.back().name;
      by_sql_.erase(lru_.back().sql);
      lru_.pop_back();
      deallocate(victim);
    }
    std::string name = fmt::format("keel_{}", ++next_statement_);
    if (libpq().PQsendPrepare(conn_, name.c_str(), scratch.sql.c_str(), 0, nullptr) == 0)
      throw_connection_lost(sql);
    flush();
    Result failed;
    while (Result r = next_result()) {
      if (libpq().PQresultStatus(r.get()) == PGRES_FATAL_ERROR && !failed) failed = std::move(r);
    }
    if (failed) throw_result_error(failed.get(), sql);
    lru_.push_front(Statement{std::string(sql), std::move(name), std::move(scratch),
                              read_only(first_keyword(sql)), nullptr});
    by_sql_.emplace(lru_.front().sql, lru_.begin());
    statement = &lru_.front();
    placeholders = &statement->placeholders;
  }

  status_before_ = libpq().PQtransactionStatus(conn_);
  int ok = statement != nullptr
               ? libpq().PQsendQueryPrepared(conn_, statement->name.c_str(), encoded.size(),
                                             encoded.values.data(), encoded.lengths.data(),
                                             encoded.formats.data(), 0)
               : libpq().PQsendQueryParams(conn_, placeholders->sql.c_str(), encoded.size(),
                                           nullptr, encoded.values.data(), encoded.lengths.data(),
                                           encoded.formats.data(), 0);
  if (ok == 0) throw_connection_lost(sql);
  if (single_row) libpq().PQsetSingleRowMode(conn_);
  flush();
  last_statement_ = statement;
}

Result PgConnection::start(std::string_view sql, const Params& params, bool single_row) {
  for (int attempt = 0;; ++attempt) {
    send(sql, params, single_row);
    Result first = next_result();
    if (!first) throw_connection_lost(sql);
    if (libpq().PQresultStatus(first.get()) != PGRES_FATAL_ERROR) return first;
    while (next_result()) {
    }
    const char* state = libpq().PQresultErrorField(first.get(), PG_DIAG_SQLSTATE);
    // "cached plan must not change result type": the table changed under a cached
    // statement. Outside a transaction it is safe to prepare again and retry once;
    // inside, the transaction is already aborted, but the next one gets a fresh plan.
    if (last_statement_ != nullptr && state != nullptr && std::strcmp(state, "0A000") == 0) {
      bool was_idle = status_before_ == PQTRANS_IDLE;
      std::string name = last_statement_->name;
      auto it = by_sql_.find(sql);
      if (it != by_sql_.end()) {
        auto node = it->second;
        by_sql_.erase(it);  // first: its key views the node's string
        lru_.erase(node);
      }
      last_statement_ = nullptr;
      deallocate(name);
      if (attempt == 0 && was_idle) continue;
    }
    throw_result_error(first.get(), sql);
  }
}

Result PgConnection::simple(std::string_view sql) {
  check_not_copying(sql);
  finish_active();
  status_before_ = libpq().PQtransactionStatus(conn_);
  if (libpq().PQsendQuery(conn_, std::string(sql).c_str()) == 0) throw_connection_lost(sql);
  flush();
  Result last, failed;
  while (Result r = next_result()) {
    ExecStatusType status = libpq().PQresultStatus(r.get());
    if (status == PGRES_FATAL_ERROR) {
      if (!failed) failed = std::move(r);
    } else if (status == PGRES_TUPLES_OK || !last ||
               libpq().PQresultStatus(last.get()) != PGRES_TUPLES_OK) {
      last = std::move(r);
    }
  }
  if (failed) throw_result_error(failed.get(), sql);
  if (!last && broken()) throw_connection_lost(sql);
  return last;
}

void PgConnection::check_not_copying(std::string_view sql) const {
  if (copying_ != nullptr)
    throw UsageError(fmt::format(
        "{} is in progress on this connection; nothing else can run before it ends (SQL: {})",
        *copying_, sql_excerpt(sql)));
}

void PgConnection::start_copy(const std::string& sql, ExecStatusType mode,
                              const std::string* busy) {
  status_before_ = libpq().PQtransactionStatus(conn_);
  if (libpq().PQsendQuery(conn_, sql.c_str()) == 0) throw_connection_lost(sql);
  flush();
  // Not next_result(): it refuses COPY FROM STDIN, and a COPY's first result is its start.
  while (libpq().PQisBusy(conn_) != 0 && !broken()) wait_readable();
  Result first(libpq().PQgetResult(conn_));
  if (first && libpq().PQresultStatus(first.get()) == mode) {
    copying_ = busy;
    return;
  }
  while (next_result()) {
  }
  if (!first || libpq().PQresultStatus(first.get()) != PGRES_FATAL_ERROR)
    throw_connection_lost(sql);
  throw_result_error(first.get(), sql);
}

// start() for execute(), query() and query_all(). The extended protocol takes one
// statement, and the server says so as a syntax error; where the SQL visibly holds
// several, the application needs execute_script().
Result PgConnection::start_one(std::string_view sql, const Params& params, bool single_row) {
  try {
    return start(sql, params, single_row);
  } catch (const SqlError& e) {
    if (e.sqlstate() == "42601" && rewrite_placeholders(sql).several_statements)
      throw UsageError(fmt::format(
          "execute()/query() run one statement, and this SQL holds several (nothing was run): "
          "use execute_script() for scripts without parameters: {}",
          sql_excerpt(sql)));
    throw;
  }
}

std::int64_t PgConnection::execute(std::string_view sql, const Params& params) {
  Result r = start_one(sql, params, false);
  std::int64_t affected = 0;
  // Rows a SELECT returned (or CREATE TABLE AS wrote) are not "affected" rows.
  if (std::strncmp(libpq().PQcmdStatus(r.get()), "SELECT", 6) != 0) {
    const char* n = libpq().PQcmdTuples(r.get());
    if (n != nullptr && *n != '\0') affected = std::strtoll(n, nullptr, 10);
  }
  while (next_result()) {
  }
  return affected;
}

Rows PgConnection::query(std::string_view sql, const Params& params) {
  Result first = start_one(sql, params, true);
  Statement* statement = last_statement_;
  bool may_cancel = status_before_ == PQTRANS_IDLE &&
                    (statement != nullptr ? statement->read_only : read_only(first_keyword(sql)));
  auto cursor = std::make_unique<PgCursor>(this, std::string(sql), std::move(first), may_cancel,
                                           statement != nullptr ? &statement->shape : nullptr);
  active_ = cursor.get();
  return Rows(std::move(cursor));
}

std::vector<Row> PgConnection::query_all(std::string_view sql, const Params& params) {
  Result result = start_one(sql, params, false);
  Statement* statement = last_statement_;
  Result failed;
  while (Result more = next_result()) {
    if (libpq().PQresultStatus(more.get()) == PGRES_FATAL_ERROR && !failed)
      failed = std::move(more);
  }
  if (failed) throw_result_error(failed.get(), sql);
  std::vector<Row> rows;
  if (libpq().PQresultStatus(result.get()) != PGRES_TUPLES_OK) return rows;  // e.g. an UPDATE
  RowDecoder decoder(statement != nullptr ? &statement->shape : nullptr);
  decoder.describe(result.get());
  int n = libpq().PQntuples(result.get());
  rows.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    std::vector<Value> values;
    decoder.decode(result.get(), i, values);
    rows.emplace_back(decoder.names(), std::move(values));
  }
  return rows;
}

void PgConnection::execute_script(std::string_view sql) { simple(sql); }

void PgConnection::control(std::string_view sql) { simple(sql); }

std::int64_t PgConnection::last_insert_id() {
  finish_active();
  // lastval() fails until a sequence has been used; inside a transaction that
  // failure would abort the application's transaction, so it runs in a savepoint.
  bool in_tx = libpq().PQtransactionStatus(conn_) == PQTRANS_INTRANS;
  Result r;
  try {
    r = simple(in_tx ? "SAVEPOINT keel_lastval; SELECT lastval(); RELEASE SAVEPOINT keel_lastval"
                     : "SELECT lastval()");
  } catch (const DatabaseError& e) {
    if (in_tx) simple("ROLLBACK TO SAVEPOINT keel_lastval; RELEASE SAVEPOINT keel_lastval");
    if (e.sqlstate() == "55000")
      throw UsageError(
          "last_insert_id(): no sequence has been used on this connection yet (does the table "
          "have an identity or serial key?); use INSERT … RETURNING to get generated keys");
    throw;
  }
  if (!r || libpq().PQntuples(r.get()) != 1) throw_connection_lost("SELECT lastval()");
  return std::strtoll(libpq().PQgetvalue(r.get(), 0, 0), nullptr, 10);
}

bool PgConnection::ping() noexcept {
  try {
    simple("SELECT 1");
    return true;
  } catch (...) {
    return false;
  }
}

std::string PgConnection::server_version() {
  const char* v = libpq().PQparameterStatus(conn_, "server_version");
  if (v == nullptr) throw_connection_lost({});
  std::string version(v);
  // Distributions append their build: "15.18 (Debian 15.18-0+deb12u1)".
  if (auto space = version.find(' '); space != std::string::npos) version.resize(space);
  return version;
}

bool PgConnection::in_transaction() const noexcept {
  PGTransactionStatusType status = libpq().PQtransactionStatus(conn_);
  if (status == PQTRANS_ACTIVE) status = status_before_;  // a result still streaming
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

bool PgConnection::broken() const noexcept {
  return broken_ || conn_ == nullptr || libpq().PQstatus(conn_) == CONNECTION_BAD;
}

bool PgConnection::alive() noexcept {
  if (broken()) return false;
  if (active_ != nullptr) return true;  // the socket is readable with our own rows
  // Idle, nothing should arrive: anything readable is the server saying goodbye
  // (a FATAL notice, then end of file), which can take more than one read.
  for (int i = 0; i < 4; ++i) {
    int fd = libpq().PQsocket(conn_);
    if (fd < 0) return false;
    if (wait_fd(fd, POLLIN, 0) <= 0) break;
    if (libpq().PQconsumeInput(conn_) == 0) {
      mark_broken();
      return false;
    }
    if (broken()) return false;
  }
  return !broken();
}

void PgConnection::clear_statement_cache() {
  finish_active();
  if (libpq().PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    for (const auto& s : lru_) pending_deallocate_.push_back(s.name);
  } else if (!lru_.empty()) {
    simple("DEALLOCATE ALL");
    pending_deallocate_.clear();
  }
  by_sql_.clear();
  lru_.clear();
}

}  // namespace keel::driver::pg

namespace keel::driver {

std::unique_ptr<Connection> open_postgres(const Config& config) { return pg::open(config); }

}  // namespace keel::driver
