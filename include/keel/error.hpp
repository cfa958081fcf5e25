// keel/error.hpp — one exception hierarchy for every layer and both backends.
//
// Application code catches by class (`catch (const keel::ConstraintError&)`) or
// inspects `kind()`; the same code handles a duplicate key on SQLite and on
// PostgreSQL. The backend's own code (SQLite extended result code, PostgreSQL
// SQLSTATE) stays available for those who need it.
#pragma once

#include <stdexcept>
#include <string>

namespace keel {

// The portable classification of a failure.
enum class ErrorKind {
  config,             // bad URL, YAML or option value
  usage,              // API misuse: wrong parameter count, mixed placeholder styles…
  type_mismatch,      // a value read or bound as a type it cannot be
  unique_violation,
  foreign_key_violation,
  not_null_violation,
  check_violation,
  busy,               // SQLite busy/locked past the busy timeout; PostgreSQL lock_not_available
  deadlock,
  serialization_failure,
  connection,         // could not connect, or the connection was lost
  timeout,            // statement, connect or pool-acquire timeout
  syntax,             // SQL syntax error
  undefined_object,   // missing table, column, function…
  already_running,    // the instance lock is held by someone else
  other,
};

// The kind's stable name, e.g. "unique_violation".
const char* to_string(ErrorKind kind) noexcept;

// Base of everything keel throws.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);
  ErrorKind kind() const noexcept { return kind_; }
  // True when running the same work again may succeed (busy, deadlock,
  // serialization failure).
  bool retryable() const noexcept;

 private:
  ErrorKind kind_;
};

// Configuration could not be parsed or is inconsistent; the message names the
// source (file:line, environment variable, argument) and the key.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(ErrorKind::config, message) {}
};

// A value was read or bound as a type it cannot be; the message names the column.
class TypeError : public Error {
 public:
  explicit TypeError(const std::string& message) : Error(ErrorKind::type_mismatch, message) {}
};

// API misuse detected before anything reached the database.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ErrorKind::usage, message) {}
};

// The database reported an error. `native_code()` is the SQLite extended result
// code (0 on PostgreSQL); `sqlstate()` is the PostgreSQL SQLSTATE (empty on SQLite).
class DatabaseError : public Error {
 public:
  DatabaseError(ErrorKind kind, const std::string& message, int native_code = 0,
                std::string sqlstate = {});
  int native_code() const noexcept { return native_code_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  int native_code_;
  std::string sqlstate_;
};

// Unique, foreign-key, not-null or check violation.
class ConstraintError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

// Busy, deadlock or serialization failure: retryable.
class ConcurrencyError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

// Could not connect, or the connection was lost. Messages carry redacted URLs only.
class ConnectionError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

// A statement, connect or pool-acquire timeout expired.
class TimeoutError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

// Syntax errors and references to objects that do not exist.
class SqlError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

// Another process holds the single-instance lock; the message says who, where
// the backend lets us know.
class AlreadyRunning : public Error {
 public:
  explicit AlreadyRunning(const std::string& message)
      : Error(ErrorKind::already_running, message) {}
};

// Throws the DatabaseError subclass that matches `kind`.
[[noreturn]] void throw_database_error(ErrorKind kind, const std::string& message,
                                       int native_code = 0, std::string sqlstate = {});

}  // namespace keel
