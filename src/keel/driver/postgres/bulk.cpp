// PostgreSQL's bulk insert: COPY … FROM STDIN (FORMAT binary), each column
// encoded for its type OID (driver/postgres/copy_codec.hpp), sent in chunks of
// about kChunk bytes as rows come. When a column has a type without a binary
// encoder here (an enum, inet, an array…), the whole load goes in COPY's text
// format instead and the server parses each value as it would a literal.
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include "driver/bulk.hpp"
#include "driver/postgres/copy_codec.hpp"
#include "driver/postgres/pg_connection.hpp"
#include "keel/error.hpp"

namespace keel::driver::pg {

namespace {

// Large enough that PQputCopyData's per-call cost vanishes, small enough to stay
// in cache; memory use is this, whatever the number of rows.
constexpr std::size_t kChunk = 128 * 1024;

}  // namespace

class PgBulkInsert final : public BulkInsert {
 public:
  PgBulkInsert(PgConnection& c, std::string table, std::vector<std::string> columns)
      : BulkInsert(c, std::move(table), std::move(columns)), conn_(c) {
    try {
      open();
    } catch (...) {
      abandon();
      throw;
    }
  }
  ~PgBulkInsert() override { abandon(); }

 private:
  void open() {
    quoted_table_ = quote_identifier(table());
    std::string list;
    for (const auto& column : columns()) {
      if (!list.empty()) list += ", ";
      list += quote_identifier(column);
    }
    // The columns' types decide each value's binary encoding.
    Result shape = conn_.simple(fmt::format("SELECT {} FROM {} LIMIT 0", list, quoted_table_));
    if (!shape) conn_.throw_connection_lost("SELECT … LIMIT 0");
    binary_ = true;
    for (int i = 0, n = libpq().PQnfields(shape.get()); i < n; ++i) {
      types_.push_back(copy_type(libpq().PQftype(shape.get(), i)));
      if (types_.back() == CopyType::unsupported) binary_ = false;
    }
    sql_ = fmt::format("COPY {} ({}) FROM STDIN{}", quoted_table_, list,
                       binary_ ? " (FORMAT binary)" : "");

    busy_ = fmt::format("a bulk insert into {} (finish() it or destroy it)", quoted_table_);
    conn_.start_copy(sql_, PGRES_COPY_IN, &busy_);
    copying_ = true;
    buffer_.reserve(kChunk + 64 * 1024);
    if (binary_) append_copy_header(buffer_);
  }

  void write(std::span<const Value> row) override {
    std::size_t column = 0;
    try {
      if (binary_) {
        append_be16(buffer_, static_cast<std::uint16_t>(row.size()));
        for (; column < row.size(); ++column)
          append_binary_field(buffer_, types_[column], row[column]);
      } else {
        for (; column < row.size(); ++column) {
          if (column > 0) buffer_ += '\t';
          append_text_field(buffer_, row[column]);
        }
        buffer_ += '\n';
      }
    } catch (const TypeError& e) {
      throw TypeError(fmt::format("{}, column {}: {}", where(rows() + 1),
                                  quote_identifier(columns()[column]), e.what()));
    }
    if (buffer_.size() >= kChunk) send_buffer();
  }

  void complete() override {
    if (binary_) append_copy_trailer(buffer_);
    send_buffer();
    end_copy(nullptr);
    Result failed, done;
    while (Result r = conn_.next_result()) {
      ExecStatusType status = libpq().PQresultStatus(r.get());
      if (status == PGRES_FATAL_ERROR) {
        if (!failed) failed = std::move(r);
      } else if (status == PGRES_COMMAND_OK) {
        done = std::move(r);
      }
    }
    if (failed) throw_copy_error(failed.get());
    if (!done) conn_.throw_connection_lost(sql_);
  }

  void discard() noexcept override {
    if (!copying_) return;
    try {
      // CopyFail: the server discards the COPY and fails the statement; the
      // transaction (or savepoint) is rolled back next by abandon().
      end_copy(fmt::format("keel: bulk insert into {} abandoned", quoted_table_).c_str());
      while (conn_.next_result()) {
      }
    } catch (...) {
      // Only a lost connection gets here; broken() already says so.
    }
  }

  // Hands the buffered rows to libpq and pushes them out, so that memory stays at
  // one chunk; the server keeps pace through the socket's flow control.
  void send_buffer() {
    if (buffer_.empty()) return;
    while (true) {
      int r = libpq().PQputCopyData(conn_.conn_, buffer_.data(), static_cast<int>(buffer_.size()));
      if (r == 1) break;
      if (r < 0) conn_.throw_connection_lost(sql_);
      conn_.flush();  // 0: libpq's buffer is full until the socket takes some
    }
    buffer_.clear();
    conn_.flush();
  }

  void end_copy(const char* error) {
    copying_ = false;
    conn_.copying_ = nullptr;
    while (true) {
      int r = libpq().PQputCopyEnd(conn_.conn_, error);
      if (r == 1) break;
      if (r < 0) conn_.throw_connection_lost(sql_);
      conn_.flush();
    }
    conn_.flush();
  }

  // The server's error for the load, with its CONTEXT ("COPY t, line N, column c")
  // and the row it names.
  [[noreturn]] void throw_copy_error(const PGresult* result) {
    std::string context;
    if (const char* c = libpq().PQresultErrorField(result, PG_DIAG_CONTEXT)) context = c;
    for (char& ch : context)
      if (ch == '\n') ch = ' ';
    std::string at = fmt::format("bulk insert into {}", quoted_table_);
    if (auto line = context.find(", line "); line != std::string::npos) {
      long row = std::strtol(context.c_str() + line + 7, nullptr, 10);
      if (row > 0) at = where(row);
    }
    try {
      conn_.throw_result_error(result, sql_);
    } catch (const DatabaseError& e) {
      std::string message = fmt::format("{}: {}", at, e.what());
      if (!context.empty()) message += fmt::format(" (CONTEXT: {})", context);
      throw_database_error(e.kind(), message, e.native_code(), e.sqlstate());
    }
  }

  PgConnection& conn_;
  std::string quoted_table_;
  std::string sql_;
  std::vector<CopyType> types_;
  bool binary_ = true;
  bool copying_ = false;
  std::string busy_;  // the refusal's words while the COPY is open
  std::string buffer_;
};

std::unique_ptr<BulkInsert> PgConnection::bulk_insert(std::string_view table,
                                                      std::vector<std::string> columns) {
  return std::make_unique<PgBulkInsert>(*this, std::string(table), std::move(columns));
}

}  // namespace keel::driver::pg
