#include "keel/error.hpp"

namespace keel {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::config: return "config";
    case ErrorKind::usage: return "usage";
    case ErrorKind::type_mismatch: return "type_mismatch";
    case ErrorKind::unique_violation: return "unique_violation";
    case ErrorKind::foreign_key_violation: return "foreign_key_violation";
    case ErrorKind::not_null_violation: return "not_null_violation";
    case ErrorKind::check_violation: return "check_violation";
    case ErrorKind::busy: return "busy";
    case ErrorKind::deadlock: return "deadlock";
    case ErrorKind::serialization_failure: return "serialization_failure";
    case ErrorKind::connection: return "connection";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::syntax: return "syntax";
    case ErrorKind::undefined_object: return "undefined_object";
    case ErrorKind::already_running: return "already_running";
    case ErrorKind::other: return "other";
  }
  return "other";
}

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(message), kind_(kind) {}

bool Error::retryable() const noexcept {
  return kind_ == ErrorKind::busy || kind_ == ErrorKind::deadlock ||
         kind_ == ErrorKind::serialization_failure;
}

DatabaseError::DatabaseError(ErrorKind kind, const std::string& message, int native_code,
                             std::string sqlstate)
    : Error(kind, message), native_code_(native_code), sqlstate_(std::move(sqlstate)) {}

void throw_database_error(ErrorKind kind, const std::string& message, int native_code,
                          std::string sqlstate) {
  switch (kind) {
    case ErrorKind::unique_violation:
    case ErrorKind::foreign_key_violation:
    case ErrorKind::not_null_violation:
    case ErrorKind::check_violation:
      throw ConstraintError(kind, message, native_code, std::move(sqlstate));
    case ErrorKind::busy:
    case ErrorKind::deadlock:
    case ErrorKind::serialization_failure:
      throw ConcurrencyError(kind, message, native_code, std::move(sqlstate));
    case ErrorKind::connection:
      throw ConnectionError(kind, message, native_code, std::move(sqlstate));
    case ErrorKind::timeout:
      throw TimeoutError(kind, message, native_code, std::move(sqlstate));
    case ErrorKind::syntax:
    case ErrorKind::undefined_object:
      throw SqlError(kind, message, native_code, std::move(sqlstate));
    default:
      throw DatabaseError(kind, message, native_code, std::move(sqlstate));
  }
}

}  // namespace keel
