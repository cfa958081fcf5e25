// Offline scripts (`keel upgrade --sql`) stop where a run would stop: a revision whose
// foreign key existing rows break fails inside the backend's own client, which rolls
// that revision back — on SQLite too, where nothing in a script reads the rows of
// PRAGMA foreign_key_check.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "keel/schema.hpp"
#include "migrate_cli_fixture.hpp"

namespace keel::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kComments = R"y(id: r5
down_revision: r4
message: comments
upgrade:
  - create_table: {name: comments, columns: {id: {type: integer, nullable: false}, post_id: bigint},
                   primary_key: [id]}
downgrade:
  - drop_table: {name: comments, columns: {id: {type: integer, nullable: false}, post_id: bigint},
                 primary_key: [id]}
)y";

constexpr const char* kCommentsFk = R"y(id: r6
down_revision: r5
message: comments reference posts
upgrade:
  - add_foreign_key: {table: comments, name: comments_post_id_fkey, columns: [post_id],
                      references: {table: posts, columns: [id]}}
downgrade:
  - drop_foreign_key: {table: comments, name: comments_post_id_fkey, columns: [post_id],
                       references: {table: posts, columns: [id]}}
)y";

class CliMigrateOfflineTest : public CliMigrationTest {};

TEST_P(CliMigrateOfflineTest, ScriptRevisionBreakingAForeignKeyFailsInTheClientAndChangesNothing) {
  write_revision_file(dir(), "r5_comments.yaml", kComments);
  write_revision_file(dir(), "r6_comments_fk.yaml", kCommentsFk);
  auto up = keel({"upgrade", "r5"});
  ASSERT_EQ(up.exit_code, 0) << describe(up);
  connect()->execute("INSERT INTO comments (id, post_id) VALUES (1, 42)");

  auto script = keel({"upgrade", "--sql", "--from", "r5"});
  ASSERT_EQ(script.exit_code, 0) << describe(script);
  if (backend() == Backend::sqlite) {
    EXPECT_NE(script.out.find("pragma_foreign_key_check"), std::string::npos) << script.out;
  }
  fs::path file = temp_dir() / "upgrade.sql";
  write_file(file, script.out);
  auto client = run_sql_client(config(), file);
  EXPECT_NE(client.exit_code, 0) << "the client accepted a revision that breaks a foreign key\n"
                                 << describe(client);
  if (backend() == Backend::sqlite) {
    EXPECT_NE(client.err.find("this revision broke foreign keys"), std::string::npos)
        << describe(client);
  }

  EXPECT_TRUE(current().starts_with("r5 ")) << current();
  auto conn = connect();
  schema::MetaData live = schema::reflect(*conn);
  const schema::Table* comments = nullptr;
  for (const auto& t : live.tables)
    if (t.name == "comments") comments = &t;
  ASSERT_NE(comments, nullptr);
  EXPECT_TRUE(comments->foreign_keys.empty());
  auto row = conn->query_one("SELECT post_id FROM comments WHERE id = 1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->get<std::int64_t>(0), 42);
}

KEEL_BACKEND_TEST_SUITE(CliMigrateOfflineTest);

}  // namespace
}  // namespace keel::testing
