// Revision files and histories, without a database.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "keel/migrate.hpp"
#include "support/backend_test.hpp"

namespace keel {
namespace {

namespace fs = std::filesystem;

class RevisionTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir(); }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ / file, std::ios::binary) << text;
  }
  // The ConfigError message load_history throws ("" when it loads).
  std::string load_error() {
    try {
      migrate::load_history(dir_.string());
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(RevisionTest, ChecksumIgnoresLineEndingsAndTrailingBlanks) {
  const std::string base = migrate::file_checksum("id: a\nmessage: x\n");
  EXPECT_EQ(base.size(), 16u);
  EXPECT_EQ(migrate::file_checksum("id: a\r\nmessage: x\r\n"), base);
  EXPECT_EQ(migrate::file_checksum("id: a  \nmessage: x\t\n\n"), base);
  EXPECT_EQ(migrate::file_checksum("id: a\nmessage: x"), base);
  EXPECT_NE(migrate::file_checksum("id: a\nmessage: y\n"), base);
  EXPECT_NE(migrate::file_checksum("id:  a\nmessage: x\n"), base);
}

TEST_F(RevisionTest, LoadsAllPartsInParentOrder) {
  write("b2_second.yaml",
        "id: b2\ndown_revision: a1\nmessage: second\ncreated: 2026-01-02T00:00:00Z\n"
        "upgrade:\n  - rename_table: {from: t, to: u}\n"
        "  - sql: {sqlite: \"SELECT 1\", postgresql: \"SELECT 2\"}\n"
        "downgrade:\n  - sql: \"SELECT 3\"\n  - rename_table: {from: u, to: t}\n");
  write("a1_first.yaml",
        "id: a1\ndown_revision: null\nmessage: first\nupgrade:\n"
        "  - create_table: {name: t, columns: {id: integer}}\n");
  auto h = migrate::load_history(dir_.string());
  ASSERT_EQ(h.revisions.size(), 2u);
  EXPECT_EQ(h.revisions[0].id, "a1");
  EXPECT_EQ(h.head(), "b2");
  const auto& b2 = h.revisions[1];
  EXPECT_EQ(b2.down_revisions, std::vector<std::string>{"a1"});
  EXPECT_EQ(b2.message, "second");
  EXPECT_EQ(b2.created, "2026-01-02T00:00:00Z");
  ASSERT_EQ(b2.upgrade.size(), 2u);
  EXPECT_EQ(migrate::describe(b2.upgrade[0]), "rename table t to u");
  EXPECT_EQ(std::get<migrate::SqlStep>(b2.upgrade[1]), (migrate::SqlStep{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(std::get<migrate::SqlStep>(b2.downgrade[0]),
            (migrate::SqlStep{"SELECT 3", "SELECT 3"}));
  EXPECT_EQ(migrate::resolve_revision(h, "head"), "b2");
  EXPECT_EQ(migrate::resolve_revision(h, "a"), "a1");
}

TEST_F(RevisionTest, MergeRevisionJoinsTwoBranches) {
  write("a_base.yaml", "id: a\ndown_revision: null\n");
  write("b_left.yaml", "id: b\ndown_revision: a\n");
  write("c_right.yaml", "id: c\ndown_revision: a\n");
  write("d_merge.yaml", "id: d\ndown_revision: [b, c]\n");
  auto h = migrate::load_history(dir_.string());
  ASSERT_EQ(h.revisions.size(), 4u);
  EXPECT_EQ(h.revisions[0].id, "a");
  EXPECT_EQ(h.head(), "d");
}

TEST_F(RevisionTest, TwoHeadsAreNamedWithAMergeHint) {
  write("a_base.yaml", "id: a\ndown_revision: null\n");
  write("b_left.yaml", "id: b\ndown_revision: a\n");
  write("c_right.yaml", "id: c\ndown_revision: a\n");
  std::string m = load_error();
  EXPECT_NE(m.find("2 heads"), std::string::npos) << m;
  EXPECT_NE(m.find("b ("), std::string::npos) << m;
  EXPECT_NE(m.find("c ("), std::string::npos) << m;
  EXPECT_NE(m.find("keel merge"), std::string::npos) << m;
}

TEST_F(RevisionTest, MissingParentNamesFileAndParent) {
  write("a_base.yaml", "id: a\ndown_revision: null\n");
  write("b_next.yaml", "id: b\ndown_revision: zz\n");
  std::string m = load_error();
  EXPECT_NE(m.find("b_next.yaml: key down_revision"), std::string::npos) << m;
  EXPECT_NE(m.find("parent zz"), std::string::npos) << m;
}

TEST_F(RevisionTest, CycleIsAnError) {
  write("a_one.yaml", "id: a\ndown_revision: b\n");
  write("b_two.yaml", "id: b\ndown_revision: a\n");
  std::string m = load_error();
  EXPECT_NE(m.find("cycle"), std::string::npos) << m;
  EXPECT_NE(m.find("a ("), std::string::npos) << m;
}

TEST_F(RevisionTest, DuplicateIdNamesBothFiles) {
  write("a_one.yaml", "id: a\ndown_revision: null\n");
  write("a_two.yaml", "id: a\ndown_revision: null\n");
  std::string m = load_error();
  EXPECT_NE(m.find("a_one.yaml"), std::string::npos) << m;
  EXPECT_NE(m.find("a_two.yaml"), std::string::npos) << m;
}

TEST_F(RevisionTest, BrokenFilesNameLineColumnAndKey) {
  write("a_base.yaml", "id: a\ndown_revision: null\nmesage: typo\n");
  EXPECT_NE(load_error().find("a_base.yaml:3:1: key mesage: unknown key"), std::string::npos)
      << load_error();
  write("a_base.yaml", "id: a\ndown_revision: null\nupgrade:\n  - drop_tabel: {name: t}\n");
  EXPECT_NE(load_error().find("a_base.yaml:4:"), std::string::npos) << load_error();
  EXPECT_NE(load_error().find("upgrade[0]"), std::string::npos) << load_error();
  write("a_base.yaml", "id: a\ndown_revision: null\nupgrade:\n  - sql: {sqlite: \"SELECT 1\"}\n");
  EXPECT_NE(load_error().find("a_base.yaml:4:"), std::string::npos) << load_error();
  EXPECT_NE(load_error().find("upgrade[0].sql: missing the postgresql variant"), std::string::npos)
      << load_error();
  write("a_base.yaml", "id: a\ndown_revision: [null\n");
  EXPECT_NE(load_error().find("a_base.yaml:"), std::string::npos) << load_error();
  write("a_base.yaml", "id: b\ndown_revision: null\n");
  EXPECT_NE(load_error().find("key id: the file name should start with the id"), std::string::npos)
      << load_error();
  write("a_base.yaml", "id: a\n");
  EXPECT_NE(load_error().find("key down_revision: missing"), std::string::npos) << load_error();
}

TEST_F(RevisionTest, UnknownRevisionListsTheKnownOnes) {
  write("a1_base.yaml", "id: a1\ndown_revision: null\n");
  auto h = migrate::load_history(dir_.string());
  try {
    migrate::resolve_revision(h, "zz");
    ADD_FAILURE() << "resolved an unknown id";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown revision 'zz'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("known: a1"), std::string::npos) << e.what();
  }
}

TEST_F(RevisionTest, OfflineScriptHasOneTransactionPerRevision) {
  write("a_base.yaml",
        "id: a\ndown_revision: null\nupgrade:\n"
        "  - create_table: {name: t, columns: {id: {type: integer, nullable: false}}, "
        "primary_key: [id]}\n");
  write("b_next.yaml",
        "id: b\ndown_revision: a\nupgrade:\n"
        "  - alter_column: {table: t, column: id, from: {type: integer, nullable: false}, "
        "to: {type: bigint, nullable: false}}\n");
  for (Backend b : {Backend::sqlite, Backend::postgresql}) {
    std::string s = migrate::upgrade_sql(dir_.string(), b);
    EXPECT_NE(s.find("keel_version"), std::string::npos) << s;
    std::size_t begins = 0;
    for (std::size_t at = s.find("BEGIN;"); at != std::string::npos; at = s.find("BEGIN;", at + 1))
      ++begins;
    EXPECT_EQ(begins, 2u) << s;
    if (b == Backend::sqlite) {
      EXPECT_NE(s.find("PRAGMA foreign_keys=OFF"), std::string::npos) << s;
      EXPECT_NE(s.find("pragma_foreign_key_check"), std::string::npos) << s;
    } else {
      EXPECT_EQ(s.find("PRAGMA"), std::string::npos) << s;
      EXPECT_NE(s.find("ALTER TABLE"), std::string::npos) << s;
    }
  }
}

}  // namespace
}  // namespace keel
