// The backend-neutral half of BulkInsert: the transaction (or savepoint) around a
// load, the rollback when it fails or is abandoned, and the portable fallback
// writer (one prepared INSERT per row) for connections without a faster path.
#include "driver/bulk.hpp"

#include <fmt/format.h>

#include "keel/connection.hpp"
#include "keel/error.hpp"

namespace keel {

namespace driver {

std::string quote_identifier(std::string_view name) {
  if (name.empty()) throw UsageError("bulk insert: empty table or column name");
  if (name.find('\0') != std::string_view::npos)
    throw UsageError(fmt::format("bulk insert: the name \"{}\" contains a NUL byte",
                                 std::string(name.substr(0, name.find('\0')))));
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

std::string bulk_target(std::string_view table, const std::vector<std::string>& columns) {
  if (columns.empty())
    throw UsageError(fmt::format("bulk insert into {}: no columns given", quote_identifier(table)));
  std::string out = quote_identifier(table) + " (";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += ", ";
    out += quote_identifier(columns[i]);
  }
  out += ')';
  return out;
}

namespace {

// Any Connection: one cached prepared INSERT per row through execute().
class GenericBulkInsert final : public BulkInsert {
 public:
  GenericBulkInsert(Connection& c, std::string table, std::vector<std::string> columns)
      : BulkInsert(c, std::move(table), std::move(columns)) {
    sql_ = "INSERT INTO " + bulk_target(this->table(), this->columns()) + " VALUES (";
    for (std::size_t i = 0; i < this->columns().size(); ++i) sql_ += i == 0 ? "?" : ", ?";
    sql_ += ')';
  }
  ~GenericBulkInsert() override { abandon(); }

 private:
  void write(std::span<const Value> row) override {
    try {
      connection().execute(sql_, Params(std::vector<Value>(row.begin(), row.end())));
    } catch (const DatabaseError& e) {
      throw_database_error(e.kind(), fmt::format("{}: {}", where(rows() + 1), e.what()),
                           e.native_code(), e.sqlstate());
    }
  }
  void complete() override {}
  void discard() noexcept override {}

  std::string sql_;
};

}  // namespace
}  // namespace driver

BulkInsert::BulkInsert(Connection& connection, std::string table, std::vector<std::string> columns)
    : connection_(connection), table_(std::move(table)), columns_(std::move(columns)) {
  driver::bulk_target(table_, columns_);  // checks the names before anything starts
  connection_.begin();
  depth_ = connection_.transaction_depth();
}

std::string BulkInsert::where(std::int64_t row) const {
  return fmt::format("bulk insert into {}, row {}", driver::quote_identifier(table_), row);
}

void BulkInsert::add(std::span<const Value> row) {
  if (state_ != State::open)
    throw UsageError(fmt::format("bulk insert into {}: add() after the writer {}",
                                 driver::quote_identifier(table_),
                                 state_ == State::finished ? "finished" : "failed"));
  if (row.size() != columns_.size())
    throw UsageError(fmt::format("{}: {} value{} given for {} column{} ({})", where(rows_ + 1),
                                 row.size(), row.size() == 1 ? "" : "s", columns_.size(),
                                 columns_.size() == 1 ? "" : "s", fmt::join(columns_, ", ")));
  try {
    write(row);
  } catch (...) {
    abandon();
    throw;
  }
  ++rows_;
}

std::int64_t BulkInsert::finish() {
  if (state_ != State::open)
    throw UsageError(fmt::format("bulk insert into {}: finish() after the writer {}",
                                 driver::quote_identifier(table_),
                                 state_ == State::finished ? "finished" : "failed"));
  try {
    complete();
  } catch (...) {
    abandon();
    throw;
  }
  state_ = State::finished;
  try {
    connection_.commit();
  } catch (...) {
    // A COMMIT that failed and left the transaction open (SQLite busy) is ours to undo.
    state_ = State::failed;
    try {
      if (connection_.transaction_depth() == depth_) connection_.rollback();
    } catch (...) {
      // The commit's error is the one worth reporting.
    }
    throw;
  }
  return rows_;
}

void BulkInsert::abandon() noexcept {
  if (state_ != State::open) return;
  state_ = State::failed;
  discard();
  try {
    if (connection_.transaction_depth() == depth_) connection_.rollback();
  } catch (...) {
    // Only a lost connection gets here; broken() already says so.
  }
}

std::unique_ptr<BulkInsert> Connection::bulk_insert(std::string_view table,
                                                    std::vector<std::string> columns) {
  return std::make_unique<driver::GenericBulkInsert>(*this, std::string(table),
                                                     std::move(columns));
}

}  // namespace keel
