// SQLite: what differs from the generic rendering in dialect.cpp.
// upsert() and returning() are not here: both backends spell ON CONFLICT and
// RETURNING alike, so dialect.cpp renders them once for both.
#include "dialects.hpp"

namespace keel::dialect {
namespace {

class SqliteDialect final : public Dialect {
 public:
  Backend backend() const noexcept override { return Backend::sqlite; }

  // A timestamp is TEXT in format_timestamp's fixed-width form, so text order is
  // time order and a column mixes values from C++ and from SQL. %f is SS.SSS
  // (milliseconds); three zeros pad it to the microseconds keel writes.
  std::string now_utc() const override { return "strftime('%Y-%m-%dT%H:%M:%f000Z','now')"; }
};

}  // namespace

const Dialect& sqlite() {
  static const SqliteDialect instance;
  return instance;
}

}  // namespace keel::dialect
