// tests/backend/transfer_support.hpp — a SQLite source file and a PostgreSQL target
// schema per test, and an independent row-by-row comparison of both sides (it
// uses the coercion rules, never the checksum it is checking).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "keel/dialect/reflect.hpp"
#include "keel/connection.hpp"
#include "keel/schema.hpp"
#include "keel/transfer.hpp"
#include "keel/transfer/coerce.hpp"
#include "keel/transfer/forms.hpp"
#include "support/backend_test.hpp"

namespace keel::testing {

class TransferFixture {
 protected:
  void make_endpoints() {
    dir_ = make_temp_dir();
    source_path_ = dir_ / "source.db";
    PgSchema pg = create_pg_schema();
    ASSERT_FALSE(pg.name.empty());
    pg_ = std::move(pg.config);
    schema_ = std::move(pg.name);
  }
  // An empty target schema again (same name).
  void reset_target() {
    Config admin = pg_;
    admin.url.params.erase("options");
    keel::connect(admin)->execute_script(
        fmt::format("DROP SCHEMA \"{0}\" CASCADE; CREATE SCHEMA \"{0}\"", schema_));
  }
  void drop_endpoints() {
    if (!schema_.empty()) drop_pg_schema(pg_, schema_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Config source_config() const {
    Config c = default_config();
    c.url = parse_url("sqlite:///" + source_path_.string());
    c.sqlite.journal_mode = "delete";  // one file, so its bytes can be compared
    return c;
  }
  // A writable connection to the source file (created on first use).
  std::unique_ptr<Connection> source() const { return keel::connect(source_config()); }
  std::unique_ptr<Connection> target() const { return keel::connect(pg_); }

  transfer::Options options() const {
    transfer::Options o;
    o.from = source_config();
    o.to = pg_;
    return o;
  }

  std::int64_t target_tables() const {
    return target()
        ->query_one("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()")
        ->get<std::int64_t>(0);
  }

  static std::string file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // One value as a comparable string, by its kind (not by any checksum encoding).
  static std::string norm(const Value& v) {
    switch (v.type()) {
      case ValueType::null: return "N";
      case ValueType::integer: return "i" + std::to_string(std::get<std::int64_t>(v.storage()));
      case ValueType::real: {
        double d = std::get<double>(v.storage());
        if (std::isnan(d)) return "rNaN";
        if (d == 0) d = 0;
        return fmt::format("r{:a}", d);
      }
      case ValueType::text: return "t" + std::get<std::string>(v.storage());
      case ValueType::blob: {
        const auto& b = std::get<Blob>(v.storage());
        return "x" + std::string(b.begin(), b.end());
      }
      case ValueType::boolean: return std::get<bool>(v.storage()) ? "b1" : "b0";
      case ValueType::date: return "d" + format_date(std::get<Date>(v.storage()));
      case ValueType::timestamp: return "s" + format_timestamp(std::get<Timestamp>(v.storage()));
      case ValueType::json: {
        const auto& t = std::get<Json>(v.storage()).text;
        return "j" + transfer::forms::jsonb_text(t).value_or("?" + t);
      }
      case ValueType::decimal: {
        const auto& t = std::get<Decimal>(v.storage()).text;
        auto d = transfer::forms::parse_decimal(t);
        return "n" + (d ? transfer::forms::plain_text(*d) : "?" + t);
      }
    }
    return "?";
  }

  // Every row of every table of the source, coerced for the target's types, equals
  // (as a multiset) the rows PostgreSQL holds. Returns the rows compared.
  std::int64_t expect_same_rows() const {
    auto src = source();
    auto dst = target();
    schema::MetaData target_meta = schema::reflect(*dst);
    std::int64_t compared = 0;
    for (const auto& row : src->query("SELECT name FROM sqlite_schema WHERE type = 'table' AND "
                                      "name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
                               .all()) {
      std::string sqlite_name = row.get<std::string>(0);
      if (sqlite_name == "keel_version") continue;  // each side keeps its own history
      const schema::Table* t = target_meta.table(dialect::fit_name(sqlite_name));
      EXPECT_NE(t, nullptr) << sqlite_name << " is missing on the target";
      if (t == nullptr) continue;
      std::vector<std::string> src_cols, dst_cols;
      std::vector<schema::ColumnType> types;
      for (const auto& c : src->query("SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 "
                                      "ORDER BY cid",
                                      {sqlite_name})
                               .all()) {
        std::string n = c.get<std::string>(0);
        const schema::Column* col = t->column(dialect::fit_name(n));
        EXPECT_NE(col, nullptr) << sqlite_name << "." << n;
        if (col == nullptr) return compared;
        src_cols.push_back(fmt::format("\"{}\"", n));
        dst_cols.push_back(fmt::format("\"{}\"", col->name));
        types.push_back(col->type);
      }
      std::vector<std::vector<std::string>> a, b;
      for (const auto& r : src->query(fmt::format("SELECT {} FROM \"{}\"",
                                                  fmt::join(src_cols, ", "), sqlite_name))
                               .all()) {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < types.size(); ++i) {
          transfer::Coerced c = transfer::coerce(r[i], types[i]);
          EXPECT_TRUE(c.ok()) << sqlite_name << ": " << c.refusal->reason;
          out.push_back(norm(c.value_or(r[i])));
        }
        a.push_back(std::move(out));
      }
      for (const auto& r : dst->query(fmt::format("SELECT {} FROM \"{}\"",
                                                  fmt::join(dst_cols, ", "), t->name))
                               .all()) {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < types.size(); ++i) out.push_back(norm(r[i]));
        b.push_back(std::move(out));
      }
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      EXPECT_EQ(a.size(), b.size()) << sqlite_name;
      EXPECT_TRUE(a == b) << sqlite_name << ": rows differ between source and target";
      compared += static_cast<std::int64_t>(a.size());
    }
    return compared;
  }

  std::filesystem::path dir_;
  std::filesystem::path source_path_;
  Config pg_;
  std::string schema_;
};

// A test with its own source file and target schema, made before and dropped after.
class TransferTestBase : public ::testing::Test, public TransferFixture {
 protected:
  void SetUp() override { make_endpoints(); }
  void TearDown() override { drop_endpoints(); }

  // Runs transfer() expecting a TransferError; returns its message.
  std::string refused(const transfer::Options& o) {
    try {
      transfer::transfer(o);
    } catch (const transfer::TransferError& e) {
      return e.what();
    }
    ADD_FAILURE() << "the transfer succeeded";
    return {};
  }
};

}  // namespace keel::testing
