// Reflection of real SQLite databases keel did not create (../shared/corpus/sqlite/,
// described in its README): every file reflects without error, and its reflected
// schema renders to PostgreSQL DDL that PostgreSQL accepts.
//
// One test per corpus file and backend: on SQLite the file is reflected (opened
// read-only; the corpus is never written); on PostgreSQL it is reflected, and its
// DDL created in the test's own schema and reflected back.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "keel/schema.hpp"
#include "support/backend_test.hpp"
#include "support/corpus.hpp"

namespace keel {
namespace {

namespace fs = std::filesystem;
using testing::corpus_dir;
using testing::corpus_files;

// What the README says about one file: tables, views and triggers.
struct Described {
  int tables = -1, views = -1, triggers = -1;
};
Described described(const std::string& file) {
  std::ifstream in(corpus_dir().parent_path() / "README.md");
  std::string line;
  // | `name` | bytes | tables | rows | views | triggers | source | licence |
  std::regex row("^\\| `" + std::regex_replace(file, std::regex(R"([.^$|()\[\]{}*+?\\])"),
                                                R"(\$&)") +
                 R"(` \| [0-9,]+ \| ([0-9]+) \| [0-9,]+ \| ([0-9]+) \| ([0-9]+) \|)");
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, row))
      return {std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3])};
  return {};
}

std::size_t count_notes(const schema::MetaData& meta, std::string_view prefix) {
  return static_cast<std::size_t>(
      std::count_if(meta.notes.begin(), meta.notes.end(),
                    [&](const std::string& n) { return n.starts_with(prefix); }));
}

using CorpusParam = std::tuple<Backend, std::string>;

// BackendTest's namespace per test, for a parameter that is (backend, file).
class CorpusTest : public ::testing::TestWithParam<CorpusParam> {
 protected:
  Backend backend() const { return std::get<0>(GetParam()); }
  const std::string& file() const { return std::get<1>(GetParam()); }

  void SetUp() override {
    if (backend() == Backend::sqlite) return;
    testing::PgSchema pg = testing::create_pg_schema();
    ASSERT_FALSE(pg.name.empty());
    pg_ = std::move(pg.config);
    schema_ = std::move(pg.name);
  }
  void TearDown() override {
    if (!schema_.empty()) testing::drop_pg_schema(pg_, schema_);
  }

  // The corpus file reflected through a read-only connection.
  schema::MetaData reflect_file() {
    fs::path path = corpus_dir() / file();
    if (!fs::exists(path))
      throw std::runtime_error("the SQLite corpus is missing: " + corpus_dir().string() +
                               " (it sits beside the checkout, in ../shared/corpus)");
    Config config = default_config();
    config.url = parse_url("sqlite:///" + fs::absolute(path).string() + "?mode=ro");
    auto conn = keel::connect(config);
    return schema::reflect(*conn);
  }

  Config pg_;
  std::string schema_;
};

TEST_P(CorpusTest, ReflectsAndItsPostgresDdlIsAccepted) {
  schema::MetaData meta = reflect_file();
  Described readme = described(file());
  ASSERT_GE(readme.tables, 0) << file() << " is not described in the corpus README";
  EXPECT_EQ(meta.tables.size(), static_cast<std::size_t>(readme.tables));
  EXPECT_EQ(count_notes(meta, "view "), static_cast<std::size_t>(readme.views));
  EXPECT_EQ(count_notes(meta, "trigger "), static_cast<std::size_t>(readme.triggers));
  for (const auto& t : meta.tables) {
    EXPECT_FALSE(t.columns.empty()) << t.name;
    for (const auto& c : t.columns) EXPECT_FALSE(c.name.empty()) << t.name;
  }
  if (backend() == Backend::sqlite) return;

  auto statements = schema::create_ddl(meta, Backend::postgresql);  // dialect::create_statements
  auto conn = keel::connect(pg_);
  conn->transaction([&] {
    for (const auto& sql : statements) {
      SCOPED_TRACE(sql);
      ASSERT_NO_THROW(conn->execute(sql));
    }
  });
  schema::MetaData created = schema::reflect(*conn);
  ASSERT_EQ(created.tables.size(), meta.tables.size());
  for (const auto& t : meta.tables) {
    const schema::Table* pg = created.table(t.name);
    ASSERT_NE(pg, nullptr) << t.name;
    EXPECT_EQ(pg->columns.size(), t.columns.size()) << t.name;
    EXPECT_EQ(pg->foreign_keys.size(), t.foreign_keys.size()) << t.name;
    EXPECT_EQ(pg->primary_key.has_value(), t.primary_key.has_value()) << t.name;
  }
}

// The README describes exactly the files that are there.
TEST(CorpusReadme, ListsEveryFileInTheCorpus) {
  std::ifstream in(corpus_dir().parent_path() / "README.md");
  ASSERT_TRUE(in) << "no README.md in " << corpus_dir().parent_path();
  std::stringstream text;
  text << in.rdbuf();
  std::set<std::string> listed;
  std::regex heading("### `sqlite/([^`]+)`");
  std::string s = text.str();
  for (std::sregex_iterator it(s.begin(), s.end(), heading), end; it != end; ++it)
    listed.insert((*it)[1]);
  auto files = corpus_files();
  EXPECT_EQ(listed, std::set<std::string>(files.begin(), files.end()));
}

INSTANTIATE_TEST_SUITE_P(
    , CorpusTest,
    ::testing::Combine(::testing::Values(Backend::sqlite, Backend::postgresql),
                       ::testing::ValuesIn(corpus_files())),
    [](const ::testing::TestParamInfo<CorpusParam>& param_info) {
      return testing::corpus_test_name(std::get<1>(param_info.param)) + "_" +
             std::string(to_string(std::get<0>(param_info.param)));
    });

}  // namespace
}  // namespace keel
