// tests/support/revision_fixtures.hpp — the revision files the migration tests share.
//
// The standard history, oldest first:
//   r1 users        create users (id autoincrement, name text NOT NULL)
//   r2 posts        create posts, a foreign key to users ON DELETE CASCADE, an index
//   r3 email        add users.email string(100), then a sql step filling it
//   r4 widen name   users.name text → string(200): a table rebuild on SQLite
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keel/connection.hpp"
#include "keel/database.hpp"
#include "keel/schema.hpp"
#include "support/backend_test.hpp"

namespace keel::testing {

// The text of revision r`n` (1 to 4) of the standard history.
std::string standard_revision(int n);
// Writes r1 … r`upto` of the standard history into `dir` (created) as r<n>_<slug>.yaml.
void write_standard_history(const std::filesystem::path& dir, int upto = 4);
// What the whole standard history leaves, as schema.yaml text.
std::string standard_head_schema();
// A revision `id` on top of `parent` that adds the nullable text column `column` to
// `table` (and drops it on downgrade); `message` is the column's name when empty.
std::string add_column_revision(std::string_view id, std::string_view parent,
                                std::string_view table, std::string_view column,
                                std::string_view message = "");
// The model the upgrade operations of `upto` and its ancestors in `dir` build.
schema::MetaData replay_upgrades(const std::string& dir, std::string_view upto);
// What a hand-rolled runner leaves: `model`'s tables as create_ddl renders them and
// `legacy_table`(version TEXT PRIMARY KEY, applied_at TEXT) listing `versions` rows.
void create_legacy_database(Connection& conn, const schema::MetaData& model,
                            std::string_view legacy_table, int versions);
// Writes `text` to dir/file.
void write_revision_file(const std::filesystem::path& dir, const std::string& file,
                         std::string_view text);

// A backend test with the standard history in dir_ and a Database on its namespace.
class MigrationTest : public BackendTest {
 protected:
  using Lines = std::vector<std::string>;
  void SetUp() override;
  void TearDown() override;

  // The rows of `sql` on `db` (default: db_), one "a|b|NULL" line each.
  Lines dump(Database& db, const std::string& sql);
  Lines dump(const std::string& sql) { return dump(*db_, sql); }
  // db_'s application tables.
  schema::MetaData reflected();
  void write(const std::string& file, std::string_view text) {
    write_revision_file(dir_, file, text);
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
};

}  // namespace keel::testing
