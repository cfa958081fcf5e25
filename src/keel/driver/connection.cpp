// The backend-neutral half of keel/connection.hpp: result streams and the
// transaction/savepoint bookkeeping. Each backend supplies control() and
// begin_sql(); nesting is the same everywhere, so it lives here once.
#include <fmt/format.h>

#include "keel/connection.hpp"

namespace keel {

Rows::Rows(Rows&& rows, std::shared_ptr<void> keepalive)
    : cursor_(std::move(rows.cursor_)), row_(std::move(rows.row_)) {
  if (!cursor_) return;  // already closed: nothing to keep alive for
  if (rows.keepalive_) {
    // The pair releases its second member first: the inner keepalive, then ours.
    keepalive_ = std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(
        std::move(keepalive), std::move(rows.keepalive_));
  } else {
    keepalive_ = std::move(keepalive);
  }
  rows.close();
}

Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    close();
    cursor_ = std::move(other.cursor_);
    keepalive_ = std::move(other.keepalive_);
    row_ = std::move(other.row_);
  }
  return *this;
}

Rows::~Rows() { close(); }

// The cursor goes first: it may still need the connection that `keepalive_`
// (e.g. a pool lease) keeps from being handed to another thread.
void Rows::close() noexcept {
  cursor_.reset();
  keepalive_.reset();
}

bool Rows::next() {
  if (!cursor_) return false;
  bool more;
  try {
    more = cursor_->next(row_);
  } catch (...) {
    // A stream that failed is over; release the statement and the lease now
    // rather than when the caller gets round to destroying us.
    close();
    throw;
  }
  if (!more) close();
  return more;
}

std::vector<Row> Rows::all() {
  std::vector<Row> rows;
  while (next()) rows.push_back(std::move(row_));
  return rows;
}

std::optional<Row> Rows::one() {
  if (!next()) return std::nullopt;
  std::optional<Row> first(std::move(row_));
  close();
  return first;
}

std::optional<Row> Connection::query_one(std::string_view sql, const Params& params) {
  return query(sql, params).one();
}

// Savepoint names are by depth, so they never collide with an application's own
// names unless it chooses the keel_sp_ prefix.
void Connection::begin() {
  if (depth_ == 0) {
    control(begin_sql());
  } else {
    control(fmt::format("SAVEPOINT keel_sp_{}", depth_));
  }
  ++depth_;
}

void Connection::commit() {
  if (depth_ == 0) throw UsageError("commit() without an open transaction: call begin() first");
  if (depth_ > 1) {
    control(fmt::format("RELEASE SAVEPOINT keel_sp_{}", depth_ - 1));
    --depth_;
    return;
  }
  try {
    control("COMMIT");
  } catch (...) {
    // A COMMIT that failed may have ended the transaction (PostgreSQL always
    // does) or left it open for a rollback (SQLite when busy); follow the backend.
    if (!in_transaction()) depth_ = 0;
    throw;
  }
  depth_ = 0;
}

void Connection::rollback() {
  if (depth_ == 0) throw UsageError("rollback() without an open transaction: call begin() first");
  if (!in_transaction()) {
    // The backend already ended it (e.g. SQLite rolls back by itself on some
    // errors); nothing is left to undo, and ROLLBACK would now fail.
    depth_ = 0;
    return;
  }
  if (depth_ > 1) {
    // ROLLBACK TO leaves the savepoint on the stack; RELEASE pops it so that the
    // next begin() at this depth does not nest inside a stale one.
    control(fmt::format("ROLLBACK TO SAVEPOINT keel_sp_{}", depth_ - 1));
    control(fmt::format("RELEASE SAVEPOINT keel_sp_{}", depth_ - 1));
    --depth_;
    return;
  }
  try {
    control("ROLLBACK");
  } catch (...) {
    if (!in_transaction()) depth_ = 0;
    throw;
  }
  depth_ = 0;
}

void Connection::abandon_transaction() {
  depth_ = 0;
  if (in_transaction()) control("ROLLBACK");
}

}  // namespace keel
