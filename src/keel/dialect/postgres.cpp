// PostgreSQL: what differs from the generic rendering in dialect.cpp.
// upsert() and returning() are not here: both backends spell ON CONFLICT and
// RETURNING alike, so dialect.cpp renders them once for both.
#include "dialects.hpp"

namespace keel::dialect {
namespace {

class PostgresDialect final : public Dialect {
 public:
  Backend backend() const noexcept override { return Backend::postgresql; }

  // timestamptz, the type a keel `timestamp` column has here. now() is the start
  // of the transaction, so every row a transaction writes carries one instant.
  std::string now_utc() const override { return "now()"; }
};

}  // namespace

const Dialect& postgresql() {
  static const PostgresDialect instance;
  return instance;
}

}  // namespace keel::dialect
