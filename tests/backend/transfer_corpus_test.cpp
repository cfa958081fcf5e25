// Every database of ../shared/corpus/sqlite transferred into PostgreSQL: it commits
// verified with checksums and every row compares equal on both sides — or it is
// refused with an error naming the table and column, and the target stays empty.
// The corpus file is copied first (the transfer's lock file goes beside the copy),
// and the copy's bytes are the same afterwards.
#include <gtest/gtest.h>

#include <map>

#include "support/corpus.hpp"
#include "transfer_support.hpp"

namespace keel {
namespace {

namespace fs = std::filesystem;
using testing::corpus_dir;

// The files keel refuses, and the first value it stops at: what it says must name them.
struct Refused {
  std::string table, column, kind;
};
const std::map<std::string, Refused>& refused_files() {
  static const std::map<std::string, Refused> files = {
      // A BLOB that is not UTF-8 in a TEXT column (pgloader issue material).
      {"pgloader_test_bad-utf8.db", {"files", "filename", "invalid_utf8"}},
      // A legacy NULL in a non-rowid INTEGER PRIMARY KEY; PostgreSQL keys are NOT NULL.
      {"pgloader_test_sqlite.db", {"autoinc", "id", "null_in_not_null"}},
      // Two 64-byte column names that PostgreSQL would both cut to the same 63 bytes:
      // no name on PostgreSQL is the one the application spells.
      {"pgloader_test_collision.db",
       {"products", "col_very_long_name_that_exceeds_postgresql_identifier_limit_aaax",
        "PostgreSQL's names are at most 63"}},
      // 'lots-of-it' in an INTEGER column.
      {"pgloader_test_type-mismatch.db", {"products", "qty", "not_an_integer"}},
  };
  return files;
}

// The files with schema objects a reflected transfer cannot carry: refused until
// --allow-missing-objects, then listed in the report (a substring of each).
const std::map<std::string, std::vector<std::string>>& objects_not_carried() {
  static const std::map<std::string, std::vector<std::string>> files = {
      {"northwind_matthewblott_northwind.db", {"view EmployeeTerritoriesView"}},
      {"northwind_qinjie_Northwind_small.sqlite", {"view ProductDetails_V"}},
      {"pgloader_clj_matviews.sqlite", {"view active_products", "view cheap_products"}},
      // Defaults that are not values of their column's type (0 for a timestamp).
      {"pgloader_test_sqlite.db",
       {"stamps.StartTime: DEFAULT 0", "stamps.EndTime: DEFAULT 0", "typenames.is_public"}},
      {"sakila_bvisness_SQLJam_sakila.db",
       {"trigger ins_film", "trigger upd_film", "trigger del_film", "view customer_list",
        "view film_list", "view nicer_but_slower_film_list", "view staff_list",
        "view sales_by_store"}},
  };
  return files;
}

class TransferCorpusTest : public ::testing::TestWithParam<std::string>,
                           public testing::TransferFixture {
 protected:
  void SetUp() override { make_endpoints(); }
  void TearDown() override { drop_endpoints(); }
};

TEST_P(TransferCorpusTest, CommitsEveryRowVerifiedOrRefusesByName) {
  fs::path original = corpus_dir() / GetParam();
  ASSERT_TRUE(fs::exists(original)) << "the SQLite corpus is missing: " << corpus_dir();
  fs::copy_file(original, source_path_);
  const std::string before = file_bytes(source_path_);

  transfer::Options o = options();
  auto missing = objects_not_carried().find(GetParam());
  if (missing != objects_not_carried().end()) {
    try {
      transfer::transfer(o);
      ADD_FAILURE() << GetParam() << " transferred without its views/triggers silently";
    } catch (const transfer::TransferError& e) {
      for (const auto& name : missing->second)
        EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << name << ": " << e.what();
    }
    EXPECT_EQ(target_tables(), 0);
    o.allow_missing_objects = true;
  }
  auto it = refused_files().find(GetParam());
  if (it == refused_files().end()) {
    transfer::Report report = transfer::transfer(o);
    EXPECT_EQ(report.verify, "checksums");
    std::int64_t compared = expect_same_rows();
    EXPECT_EQ(compared, report.rows);
    // "Exit 0 and rows missing" is impossible: every table's count, read independently
    // on both sides, agrees.
    auto src = source();
    auto dst = target();
    for (const auto& t : report.tables) {
      EXPECT_FALSE(t.checksum.empty()) << t.name;
      EXPECT_EQ(t.skipped_rows, 0) << t.name;
      std::int64_t source_count =
          src->query_one(fmt::format("SELECT count(*) FROM \"{}\"", t.name))->get<std::int64_t>(0);
      std::int64_t target_count =
          dst->query_one(fmt::format("SELECT count(*) FROM \"{}\"", t.name))->get<std::int64_t>(0);
      EXPECT_EQ(source_count, target_count) << t.name;
      EXPECT_EQ(source_count, t.rows) << t.name;
    }
    std::string listed = fmt::format("{}", fmt::join(report.not_carried, "\n"));
    if (missing == objects_not_carried().end())
      EXPECT_TRUE(report.not_carried.empty()) << listed;
    else
      for (const auto& name : missing->second)
        EXPECT_NE(listed.find(name), std::string::npos) << name << ": " << listed;
  } else {
    try {
      transfer::transfer(o);
      ADD_FAILURE() << GetParam() << " transferred, but keel should refuse it";
    } catch (const transfer::TransferError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find(fmt::format("table \"{}\"", it->second.table)), std::string::npos)
          << what;
      EXPECT_NE(what.find(fmt::format("column \"{}\"", it->second.column)), std::string::npos)
          << what;
      EXPECT_NE(what.find(it->second.kind), std::string::npos) << what;
    }
    EXPECT_EQ(target_tables(), 0) << "a refused transfer left tables on the target";
  }
  EXPECT_TRUE(file_bytes(source_path_) == before) << "the source file changed";
}

INSTANTIATE_TEST_SUITE_P(, TransferCorpusTest, ::testing::ValuesIn(testing::corpus_files()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return testing::corpus_test_name(param_info.param);
                         });

}  // namespace
}  // namespace keel
