// The `?` / `:name` → `$n` lexer the PostgreSQL driver runs once per statement.
#include "keel/driver/placeholders.hpp"

#include <gtest/gtest.h>

#include "keel/error.hpp"

namespace keel::driver {
namespace {

std::string rewrite(std::string_view sql) { return rewrite_placeholders(sql).sql; }

TEST(PlaceholdersTest, QuestionMarksBecomeNumberedInOrder) {
  auto p = rewrite_placeholders("INSERT INTO t (a, b, c) VALUES (?, ?,?)");
  EXPECT_EQ(p.sql, "INSERT INTO t (a, b, c) VALUES ($1, $2,$3)");
  EXPECT_EQ(p.style, Placeholders::Style::positional);
  EXPECT_EQ(p.count, 3u);
  EXPECT_TRUE(p.names.empty());
}

TEST(PlaceholdersTest, RepeatedNamesShareOneNumber) {
  auto p = rewrite_placeholders("SELECT :a, :b, :a");
  EXPECT_EQ(p.sql, "SELECT $1, $2, $1");
  EXPECT_EQ(p.style, Placeholders::Style::named);
  EXPECT_EQ(p.count, 2u);
  EXPECT_EQ(p.names, (std::vector<std::string>{"a", "b"}));
}

TEST(PlaceholdersTest, NamesTakeLettersDigitsAndUnderscores) {
  auto p = rewrite_placeholders("WHERE id=:user_id2 AND x=:_x");
  EXPECT_EQ(p.sql, "WHERE id=$1 AND x=$2");
  EXPECT_EQ(p.names, (std::vector<std::string>{"user_id2", "_x"}));
}

TEST(PlaceholdersTest, StatementWithoutPlaceholdersIsUnchanged) {
  auto p = rewrite_placeholders("SELECT 1");
  EXPECT_EQ(p.sql, "SELECT 1");
  EXPECT_EQ(p.style, Placeholders::Style::none);
  EXPECT_EQ(p.count, 0u);
}

TEST(PlaceholdersTest, QuotedStringWithDoubledQuoteIsLeftAlone) {
  EXPECT_EQ(rewrite("SELECT 'it''s ?', ?"), "SELECT 'it''s ?', $1");
  EXPECT_EQ(rewrite("SELECT ':a', :b"), "SELECT ':a', $1");
}

TEST(PlaceholdersTest, EscapeStringHonoursBackslashes) {
  // E'\'' is one string holding a quote: the ? inside is text.
  EXPECT_EQ(rewrite(R"(SELECT E'\' ?', ?)"), R"(SELECT E'\' ?', $1)");
  // E'\\' ends after the escaped backslash: the ? after it is a placeholder.
  EXPECT_EQ(rewrite(R"(SELECT E'\\' ?)"), R"(SELECT E'\\' $1)");
  EXPECT_EQ(rewrite(R"(SELECT e'a\'b?' || ?)"), R"(SELECT e'a\'b?' || $1)");
}

TEST(PlaceholdersTest, BackslashInStandardStringIsPlainText) {
  // standard_conforming_strings: '\' is a one-character string.
  EXPECT_EQ(rewrite(R"(SELECT '\', ?)"), R"(SELECT '\', $1)");
  // An identifier ending in e before a quote is not an E'' prefix.
  EXPECT_EQ(rewrite(R"(SELECT type'\', ?)"), R"(SELECT type'\', $1)");
}

TEST(PlaceholdersTest, DollarQuotesAreLeftAlone) {
  EXPECT_EQ(rewrite("SELECT $$ ? $$, ?"), "SELECT $$ ? $$, $1");
  EXPECT_EQ(rewrite("CREATE FUNCTION f() RETURNS int AS $fn$ SELECT :x $fn$ LANGUAGE sql"),
            "CREATE FUNCTION f() RETURNS int AS $fn$ SELECT :x $fn$ LANGUAGE sql");
  // Another tag inside does not close the quote.
  EXPECT_EQ(rewrite("SELECT $a$ $b$ ? $b$ ? $a$, ?"), "SELECT $a$ $b$ ? $b$ ? $a$, $1");
}

TEST(PlaceholdersTest, DollarInsideIdentifierIsNotAQuote) {
  EXPECT_EQ(rewrite("SELECT a$b$c, ? FROM t$"), "SELECT a$b$c, $1 FROM t$");
}

TEST(PlaceholdersTest, QuotedIdentifiersAreLeftAlone) {
  EXPECT_EQ(rewrite(R"(SELECT "col?", "a""b:c" FROM t WHERE x = ?)"),
            R"(SELECT "col?", "a""b:c" FROM t WHERE x = $1)");
}

TEST(PlaceholdersTest, LineCommentEndsAtNewline) {
  EXPECT_EQ(rewrite("SELECT -- ?\n?"), "SELECT -- ?\n$1");
  EXPECT_EQ(rewrite("SELECT ? -- :x"), "SELECT $1 -- :x");
  // A single minus is arithmetic.
  EXPECT_EQ(rewrite("SELECT 1-?"), "SELECT 1-$1");
}

TEST(PlaceholdersTest, BlockCommentsNest) {
  EXPECT_EQ(rewrite("SELECT /* /* ? */ ? */ ?"), "SELECT /* /* ? */ ? */ $1");
  EXPECT_EQ(rewrite("SELECT 6/?"), "SELECT 6/$1");
}

TEST(PlaceholdersTest, CastsAndAssignmentsAreNotNames) {
  auto p = rewrite_placeholders("SELECT a::text, :v::int, f(x := 1)");
  EXPECT_EQ(p.sql, "SELECT a::text, $1::int, f(x := 1)");
  EXPECT_EQ(p.names, (std::vector<std::string>{"v"}));
  EXPECT_EQ(rewrite("SELECT ?::jsonb"), "SELECT $1::jsonb");
}

TEST(PlaceholdersTest, ArraySlicesAreLeftAlone) {
  EXPECT_EQ(rewrite("SELECT a[1:2], a[lo:hi], a[2:] FROM t WHERE id = :id"),
            "SELECT a[1:2], a[lo:hi], a[2:] FROM t WHERE id = $1");
  // A bound given as a parameter, by position.
  EXPECT_EQ(rewrite("SELECT a[?:?] FROM t"), "SELECT a[$1:$2] FROM t");
}

TEST(PlaceholdersTest, DoubledQuestionMarkIsALiteralQuestionMark) {
  auto p = rewrite_placeholders("SELECT doc ?? 'k', doc ??| array['a'], doc ??& ? FROM t");
  EXPECT_EQ(p.sql, "SELECT doc ? 'k', doc ?| array['a'], doc ?& $1 FROM t");
  EXPECT_EQ(p.count, 1u);
}

TEST(PlaceholdersTest, HandWrittenDollarNumbersStay) {
  auto p = rewrite_placeholders("SELECT $1, $2, $1");
  EXPECT_EQ(p.sql, "SELECT $1, $2, $1");
  EXPECT_EQ(p.style, Placeholders::Style::dollar);
  EXPECT_EQ(p.count, 2u);
}

TEST(PlaceholdersTest, MixingStylesIsAUsageError) {
  EXPECT_THROW(rewrite_placeholders("SELECT ?, :a"), UsageError);
  EXPECT_THROW(rewrite_placeholders("SELECT :a, ?"), UsageError);
  EXPECT_THROW(rewrite_placeholders("SELECT $1, ?"), UsageError);
  try {
    rewrite_placeholders("SELECT ?, :name");
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("mixes ? and :name"), std::string::npos) << e.what();
  }
}

TEST(PlaceholdersTest, UnterminatedLiteralIsLeftForTheServer) {
  EXPECT_EQ(rewrite("SELECT ?, 'open ?"), "SELECT $1, 'open ?");
  EXPECT_EQ(rewrite("SELECT ?, /* open ?"), "SELECT $1, /* open ?");
  EXPECT_EQ(rewrite("SELECT ?, $x$ open ?"), "SELECT $1, $x$ open ?");
  EXPECT_EQ(rewrite("SELECT ?, \"open ?"), "SELECT $1, \"open ?");
}

TEST(PlaceholdersTest, NonAsciiTextIsCopiedUnchanged) {
  EXPECT_EQ(rewrite("SELECT 'naïve ?', straße, ? FROM café"),
            "SELECT 'naïve ?', straße, $1 FROM café");
}

TEST(PlaceholdersTest, SemicolonFollowedBySqlMarksSeveralStatements) {
  EXPECT_TRUE(rewrite_placeholders("SELECT 1; SELECT 2").several_statements);
  EXPECT_FALSE(rewrite_placeholders("SELECT 1;").several_statements);
  EXPECT_FALSE(rewrite_placeholders("SELECT 1 ;  -- done\n /* really */ ;").several_statements);
  EXPECT_FALSE(rewrite_placeholders("SELECT 'a;b', \"c;d\", $$;x$$ -- ;y").several_statements);
}

TEST(ArrangeParamsTest, PositionalValuesKeepTheirOrder) {
  auto p = rewrite_placeholders("SELECT ?, ?");
  Params params{1, "two"};
  auto values = arrange_params(p, params, "SELECT ?, ?");
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(*values[0], Value(1));
  EXPECT_EQ(*values[1], Value("two"));
}

TEST(ArrangeParamsTest, NamedValuesFollowFirstAppearance) {
  auto p = rewrite_placeholders("SELECT :b, :a, :b");
  Params params(Named{{"a", 1}, {"b", 2}});
  auto values = arrange_params(p, params, "");
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(*values[0], Value(2));
  EXPECT_EQ(*values[1], Value(1));
}

TEST(ArrangeParamsTest, WrongCountIsAUsageErrorNamingBoth) {
  auto p = rewrite_placeholders("SELECT ?, ?");
  try {
    arrange_params(p, Params{1}, "SELECT ?, ?");
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("takes 2 parameter(s) but 1 were given"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(arrange_params(rewrite_placeholders("SELECT 1"), Params{1}, ""), UsageError);
}

TEST(ArrangeParamsTest, MissingOrUnusedNameIsAUsageError) {
  auto p = rewrite_placeholders("SELECT :a, :b");
  try {
    arrange_params(p, Params(Named{{"a", 1}}), "SELECT :a, :b");
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no value given for :b"), std::string::npos) << e.what();
  }
  EXPECT_THROW(arrange_params(p, Params(Named{{"a", 1}, {"b", 2}, {"c", 3}}), ""), UsageError);
}

TEST(ArrangeParamsTest, StyleMismatchIsAUsageError) {
  EXPECT_THROW(arrange_params(rewrite_placeholders("SELECT :a"), Params{1}, ""), UsageError);
  EXPECT_THROW(arrange_params(rewrite_placeholders("SELECT ?"), Params(Named{{"a", 1}}), ""),
               UsageError);
}

TEST(SqlExcerptTest, CollapsesWhitespaceAndShortens) {
  EXPECT_EQ(sql_excerpt("SELECT\n   a,\n\tb  FROM t"), "SELECT a, b FROM t");
  std::string longer(200, 'x');
  std::string out = sql_excerpt(longer, 10);
  EXPECT_EQ(out, std::string(10, 'x') + "…");
}

}  // namespace
}  // namespace keel::driver
