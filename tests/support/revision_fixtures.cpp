#include "support/revision_fixtures.hpp"

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <stdexcept>

#include "keel/migrate.hpp"

namespace keel::testing {
namespace {

// A revision that creates a table on upgrade and drops it on downgrade: both
// operations carry the same table, written once here.
std::string create_table_revision(std::string_view header, std::string_view table) {
  return fmt::format("{}upgrade:\n  - create_table:\n{}downgrade:\n  - drop_table:\n{}", header,
                     table, table);
}

constexpr const char* kUsersTable = R"y(      name: users
      columns:
        id: {type: bigint, nullable: false, autoincrement: true}
        name: {type: text, nullable: false}
      primary_key: [id]
)y";

constexpr const char* kPostsTable = R"y(      name: posts
      columns:
        id: {type: bigint, nullable: false, autoincrement: true}
        user_id: {type: bigint, nullable: false}
        title: text
      primary_key: [id]
      foreign_keys:
        - {columns: [user_id], references: {table: users, columns: [id]}, on_delete: cascade}
      indexes:
        - {columns: [user_id]}
)y";

constexpr const char* kEmail = R"y(id: r3
down_revision: r2
message: email
created: 2026-01-03T00:00:00Z
upgrade:
  - add_column: {table: users, column: {name: email, type: "string(100)"}}
  - sql: "UPDATE users SET email = name || '@example.org'"
downgrade:
  - drop_column: {table: users, column: {name: email, type: "string(100)"}}
)y";

// Changing a parent table's column type rebuilds it on SQLite; its children's
// ON DELETE CASCADE rows must survive.
constexpr const char* kWiden = R"y(id: r4
down_revision: r3
message: widen name
created: 2026-01-04T00:00:00Z
upgrade:
  - alter_column: {table: users, column: name, from: {type: text, nullable: false},
                   to: {type: "string(200)", nullable: false}}
downgrade:
  - alter_column: {table: users, column: name, from: {type: "string(200)", nullable: false},
                   to: {type: text, nullable: false}}
)y";

// users as r4 leaves it; posts is appended from kPostsTable.
constexpr const char* kHeadUsers = R"y(tables:
  users:
    columns:
      id: {type: bigint, nullable: false, autoincrement: true}
      name: {type: "string(200)", nullable: false}
      email: "string(100)"
    primary_key: [id]
)y";

constexpr const char* kFiles[] = {"r1_users.yaml", "r2_posts.yaml", "r3_email.yaml",
                                  "r4_widen_name.yaml"};

}  // namespace

std::string standard_revision(int n) {
  switch (n) {
    case 1:
      return create_table_revision(
          "id: r1\ndown_revision: null\nmessage: users\ncreated: 2026-01-01T00:00:00Z\n",
          kUsersTable);
    case 2:
      return create_table_revision(
          "id: r2\ndown_revision: r1\nmessage: posts\ncreated: 2026-01-02T00:00:00Z\n",
          kPostsTable);
    case 3: return kEmail;
    case 4: return kWiden;
    default: throw std::out_of_range(fmt::format("the standard history has no r{}", n));
  }
}

void write_standard_history(const std::filesystem::path& dir, int upto) {
  std::filesystem::create_directories(dir);
  for (int n = 1; n <= upto; ++n)
    write_revision_file(dir, kFiles[n - 1], standard_revision(n));
}

std::string standard_head_schema() {
  // kPostsTable less its name line, moved from a revision's list item (6 spaces) to a
  // schema file's table (4).
  std::string out = std::string(kHeadUsers) + "  posts:\n";
  std::string_view posts = kPostsTable;
  posts.remove_prefix(posts.find('\n') + 1);
  while (!posts.empty()) {
    std::size_t eol = posts.find('\n');
    out.append(posts.substr(2, eol - 1));
    posts.remove_prefix(eol + 1);
  }
  return out;
}

std::string add_column_revision(std::string_view id, std::string_view parent,
                                std::string_view table, std::string_view column,
                                std::string_view message) {
  return fmt::format(
      "id: {0}\ndown_revision: {1}\nmessage: {4}\nupgrade:\n"
      "  - add_column: {{table: {2}, column: {{name: {3}, type: text}}}}\n"
      "downgrade:\n"
      "  - drop_column: {{table: {2}, column: {{name: {3}, type: text}}}}\n",
      id, parent, table, column, message.empty() ? column : message);
}

schema::MetaData replay_upgrades(const std::string& dir, std::string_view upto) {
  migrate::History history = migrate::load_history(dir);
  std::set<std::string> wanted;
  std::vector<std::string> todo{migrate::resolve_revision(history, upto)};
  while (!todo.empty()) {
    std::string id = todo.back();
    todo.pop_back();
    if (!wanted.insert(id).second) continue;
    for (const auto& p : history.find(id)->down_revisions) todo.push_back(p);
  }
  schema::MetaData model;
  for (const auto& rev : history.revisions) {
    if (!wanted.count(rev.id)) continue;
    for (const auto& step : rev.upgrade)
      if (const auto* op = std::get_if<schema::Operation>(&step)) schema::apply(model, *op);
  }
  return model;
}

void create_legacy_database(Connection& conn, const schema::MetaData& model,
                            std::string_view legacy_table, int versions) {
  for (const auto& sql : schema::create_ddl(model, conn.backend())) conn.execute(sql);
  conn.execute(fmt::format("CREATE TABLE {} (version TEXT PRIMARY KEY, applied_at TEXT)",
                           legacy_table));
  for (int v = 1; v <= versions; ++v)
    conn.execute(fmt::format("INSERT INTO {} (version, applied_at) VALUES (?, ?)", legacy_table),
                 {fmt::format("2025010{}_legacy", v), "2025-01-01 00:00:00"});
}

void write_revision_file(const std::filesystem::path& dir, const std::string& file,
                         std::string_view text) {
  std::ofstream out(dir / file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error(fmt::format("cannot write {}", (dir / file).string()));
}

void MigrationTest::SetUp() {
  BackendTest::SetUp();
  dir_ = (temp_dir() / "migrations").string();
  write_standard_history(dir_);
  db_ = std::make_unique<Database>(config());
}

void MigrationTest::TearDown() {
  db_.reset();
  BackendTest::TearDown();
}

MigrationTest::Lines MigrationTest::dump(Database& db, const std::string& sql) {
  Lines out;
  for (const Row& row : db.query(sql)) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i)
      line += (i ? "|" : "") + (row[i].is_null() ? std::string("NULL") : row[i].to_display());
    out.push_back(line);
  }
  return out;
}

schema::MetaData MigrationTest::reflected() {
  auto lease = db_->connection();
  return schema::reflect(*lease);
}

}  // namespace keel::testing
