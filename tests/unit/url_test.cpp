#include <gtest/gtest.h>

#include <string>

#include "keel/config.hpp"
#include "keel/error.hpp"

using namespace keel;

namespace {

// The ConfigError message parse_url throws, or "" when it does not throw.
std::string url_error(std::string_view url, std::string_view where = "URL") {
  try {
    parse_url(url, where);
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  ADD_FAILURE() << "parse_url accepted " << url;
  return {};
}

}  // namespace

TEST(UrlTest, BackendNames) {
  EXPECT_STREQ(to_string(Backend::sqlite), "sqlite");
  EXPECT_STREQ(to_string(Backend::postgresql), "postgresql");
}

TEST(UrlTest, SqliteThreeSlashesIsARelativePath) {
  Url u = parse_url("sqlite:///relative.db");
  EXPECT_TRUE(u.is_sqlite());
  EXPECT_FALSE(u.is_postgresql());
  EXPECT_EQ(u.path, "relative.db");
  EXPECT_FALSE(u.is_memory());
  EXPECT_EQ(parse_url("sqlite:///./data/app.db").path, "./data/app.db");
  EXPECT_EQ(parse_url("sqlite:///dir/sub/x.db").path, "dir/sub/x.db");
}

TEST(UrlTest, SqliteFourSlashesIsAnAbsolutePath) {
  EXPECT_EQ(parse_url("sqlite:////absolute.db").path, "/absolute.db");
  EXPECT_EQ(parse_url("sqlite:////var/lib/app/app.db").path, "/var/lib/app/app.db");
}

TEST(UrlTest, SqliteMemory) {
  Url u = parse_url("sqlite:///:memory:");
  EXPECT_EQ(u.path, ":memory:");
  EXPECT_TRUE(u.is_memory());
}

TEST(UrlTest, SqliteQueryParametersAreKept) {
  Url u = parse_url("sqlite:///app.db?mode=ro&cache=shared");
  EXPECT_EQ(u.path, "app.db");
  EXPECT_EQ(u.params, (std::map<std::string, std::string>{{"mode", "ro"}, {"cache", "shared"}}));
}

TEST(UrlTest, SqlitePathIsPercentDecoded) {
  EXPECT_EQ(parse_url("sqlite:///my%20data/a%3Fb.db").path, "my data/a?b.db");
  EXPECT_EQ(parse_url("sqlite:///caf%C3%A9.db").path, "caf\xC3\xA9.db");
}

TEST(UrlTest, SchemeIsCaseInsensitive) {
  EXPECT_TRUE(parse_url("SQLite:///a.db").is_sqlite());
  EXPECT_TRUE(parse_url("PostgreSQL://h/db").is_postgresql());
}

TEST(UrlTest, PostgresFullForm) {
  Url u = parse_url("postgresql://app:secret@db.internal:5432/appdb?sslmode=require");
  EXPECT_TRUE(u.is_postgresql());
  EXPECT_EQ(u.user, "app");
  ASSERT_TRUE(u.password);
  EXPECT_EQ(*u.password, "secret");
  EXPECT_EQ(u.host, "db.internal");
  EXPECT_EQ(u.port, "5432");
  EXPECT_EQ(u.dbname, "appdb");
  EXPECT_EQ(u.params, (std::map<std::string, std::string>{{"sslmode", "require"}}));
}

TEST(UrlTest, PostgresAlias) {
  Url u = parse_url("postgres://app@localhost/app");
  EXPECT_TRUE(u.is_postgresql());
  EXPECT_EQ(u.user, "app");
  EXPECT_FALSE(u.password);
  EXPECT_EQ(u.host, "localhost");
  EXPECT_EQ(u.dbname, "app");
}

TEST(UrlTest, PostgresEmptyComponentsMeanLibpqDefaults) {
  Url u = parse_url("postgresql://");
  EXPECT_TRUE(u.is_postgresql());
  EXPECT_EQ(u.host, "");
  EXPECT_EQ(u.port, "");
  EXPECT_EQ(u.dbname, "");
  EXPECT_EQ(u.user, "");
  EXPECT_FALSE(u.password);

  Url no_host = parse_url("postgresql:///appdb");
  EXPECT_EQ(no_host.host, "");
  EXPECT_EQ(no_host.dbname, "appdb");

  Url only_host = parse_url("postgresql://localhost");
  EXPECT_EQ(only_host.host, "localhost");
  EXPECT_EQ(only_host.dbname, "");
}

TEST(UrlTest, EmptyPasswordIsPresentButEmpty) {
  Url u = parse_url("postgresql://app:@h/db");
  ASSERT_TRUE(u.password);
  EXPECT_EQ(*u.password, "");
}

TEST(UrlTest, PercentDecodingInEveryComponent) {
  Url u = parse_url(
      "postgresql://us%65r%20x:p%40ss%3Aw%2Frd@my%2Dhost:5432/d%62%20name?application_name=a%26b");
  EXPECT_EQ(u.user, "user x");
  EXPECT_EQ(*u.password, "p@ss:w/rd");
  EXPECT_EQ(u.host, "my-host");
  EXPECT_EQ(u.dbname, "db name");
  EXPECT_EQ(u.params.at("application_name"), "a&b");
}

TEST(UrlTest, PlusIsNotASpace) {
  EXPECT_EQ(*parse_url("postgresql://u:a+b@h/db").password, "a+b");
}

TEST(UrlTest, UnencodedAtSignInPasswordUsesTheLastAt) {
  Url u = parse_url("postgresql://u:p@ss@host/db");
  EXPECT_EQ(u.user, "u");
  EXPECT_EQ(*u.password, "p@ss");
  EXPECT_EQ(u.host, "host");
}

TEST(UrlTest, UnixSocketDirectoryAsEncodedHost) {
  Url u = parse_url("postgresql://u@%2Fvar%2Frun%2Fpostgresql/db");
  EXPECT_EQ(u.host, "/var/run/postgresql");
  EXPECT_EQ(u.dbname, "db");
  EXPECT_EQ(u.user, "u");
}

TEST(UrlTest, UnixSocketDirectoryAsHostParameter) {
  Url u = parse_url("postgresql:///db?host=/var/run/postgresql&port=5433");
  EXPECT_EQ(u.host, "/var/run/postgresql");
  EXPECT_EQ(u.port, "5433");
  EXPECT_TRUE(u.params.empty()) << "host and port are lifted out of params";
}

TEST(UrlTest, QueryComponentsOverrideTheAuthorityLikeLibpq) {
  Url u = parse_url("postgresql://a:pw1@h1:1/d1?user=b&password=pw2&dbname=d2&host=h2&port=2");
  EXPECT_EQ(u.user, "b");
  EXPECT_EQ(*u.password, "pw2");
  EXPECT_EQ(u.dbname, "d2");
  EXPECT_EQ(u.host, "h2");
  EXPECT_EQ(u.port, "2");
  EXPECT_TRUE(u.params.empty());
}

TEST(UrlTest, Ipv6HostInBrackets) {
  Url u = parse_url("postgresql://u@[::1]:5432/db");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "5432");
  Url v = parse_url("postgresql://[2001:db8::7]/db");
  EXPECT_EQ(v.host, "2001:db8::7");
  EXPECT_EQ(v.port, "");
}

TEST(UrlTest, LibpqParametersArePassedOn) {
  Url u = parse_url(
      "postgresql://h/db?sslmode=verify-full&connect_timeout=5&options=-c%20search_path%3Dapp"
      "&application_name=x");
  EXPECT_EQ(u.params.at("sslmode"), "verify-full");
  EXPECT_EQ(u.params.at("connect_timeout"), "5");
  EXPECT_EQ(u.params.at("options"), "-c search_path=app");
  EXPECT_EQ(u.params.at("application_name"), "x");
}

TEST(UrlTest, MultiHostListInParameters) {
  Url u = parse_url("postgresql:///db?host=a,b&port=5432,5433");
  EXPECT_EQ(u.host, "a,b");
  EXPECT_EQ(u.port, "5432,5433");
  EXPECT_EQ(parse_url(u.to_string()).host, "a,b");
}

TEST(UrlTest, PortBoundaries) {
  EXPECT_EQ(parse_url("postgresql://h:1/db").port, "1");
  EXPECT_EQ(parse_url("postgresql://h:65535/db").port, "65535");
  EXPECT_NE(url_error("postgresql://h:0/db").find("port \"0\""), std::string::npos);
  EXPECT_NE(url_error("postgresql://h:65536/db").find("1..65535"), std::string::npos);
  EXPECT_NE(url_error("postgresql://h:-1/db").find("port"), std::string::npos);
  EXPECT_NE(url_error("postgresql://h:54x/db").find("port \"54x\" is not a number"),
            std::string::npos);
  EXPECT_NE(url_error("postgresql://h/db?port=abc").find("port \"abc\""), std::string::npos);
}

TEST(UrlTest, UnknownSchemeNamesWhereAndWhatWasExpected) {
  std::string msg = url_error("mysql://u:hunter2@h/db", "DATABASE_URL");
  EXPECT_EQ(msg.rfind("DATABASE_URL: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("unknown scheme \"mysql\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected sqlite:///path or postgresql://user@host/db"), std::string::npos);
  EXPECT_NE(msg.find("mysql://u:***@h/db"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
}

TEST(UrlTest, MissingDoubleSlash) {
  std::string msg = url_error("sqlite:app.db", "--url");
  EXPECT_EQ(msg.rfind("--url: ", 0), 0u);
  EXPECT_NE(msg.find("must be followed by \"//\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("sqlite:///"), std::string::npos) << msg;
  EXPECT_NE(url_error("postgresql:u:hunter2@h/db").find("\"//\""), std::string::npos);
  EXPECT_EQ(url_error("postgresql:u:hunter2@h/db").find("hunter2"), std::string::npos);
}

TEST(UrlTest, NoSchemeOrEmpty) {
  EXPECT_NE(url_error("").find("empty"), std::string::npos);
  EXPECT_NE(url_error("app.db").find("no scheme"), std::string::npos);
  EXPECT_NE(url_error("/var/app.db").find("no scheme"), std::string::npos);
}

TEST(UrlTest, EmptySqlitePath) {
  EXPECT_NE(url_error("sqlite:///").find("path is empty"), std::string::npos);
  EXPECT_NE(url_error("sqlite://").find("path is empty"), std::string::npos);
  EXPECT_NE(url_error("sqlite:///?mode=ro").find("path is empty"), std::string::npos);
}

TEST(UrlTest, SqliteUrlWithAHostIsRejected) {
  std::string msg = url_error("sqlite://app.db");
  EXPECT_NE(msg.find("no host"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sqlite:////absolute/path"), std::string::npos) << msg;
}

TEST(UrlTest, BadPercentEscapes) {
  EXPECT_NE(url_error("postgresql://h/d%zzb").find("bad percent-escape \"%zz\" in the database"),
            std::string::npos);
  EXPECT_NE(url_error("sqlite:///a%2").find("bad percent-escape"), std::string::npos);
  EXPECT_NE(url_error("sqlite:///a%00b").find("%00"), std::string::npos);
  EXPECT_NE(url_error("postgresql://h/db?x=%G1").find("query parameter value"), std::string::npos);
}

TEST(UrlTest, BadPercentEscapeInPasswordDoesNotShowIt) {
  std::string msg = url_error("postgresql://u:hunter%2@h/db");
  EXPECT_NE(msg.find("in the password"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter"), std::string::npos) << msg;
}

TEST(UrlTest, QueryItemWithoutEquals) {
  EXPECT_NE(url_error("postgresql://h/db?sslmode").find("not key=value"), std::string::npos);
  EXPECT_NE(url_error("sqlite:///a.db?=x").find("not key=value"), std::string::npos);
}

TEST(UrlTest, Ipv6WithoutBrackets) {
  EXPECT_NE(url_error("postgresql://::1/db").find("in brackets"), std::string::npos);
  EXPECT_NE(url_error("postgresql://h:5432:5/db").find("in brackets"), std::string::npos);
}

TEST(UrlTest, UnclosedIpv6Bracket) {
  EXPECT_NE(url_error("postgresql://[::1/db").find("IPv6"), std::string::npos);
  EXPECT_NE(url_error("postgresql://[::1]x/db").find("after the IPv6 address"),
            std::string::npos);
}

TEST(UrlTest, SeveralHostsInTheAuthorityPointToTheParameterForm) {
  EXPECT_NE(url_error("postgresql://a:1,b:2/db").find("?host=h1,h2"), std::string::npos);
}

// A password with an unencoded '/' or '?' cuts the authority short, so part of it
// is read as a port or path; the error must not quote that part either.
TEST(UrlTest, PasswordFragmentsNeverAppearInErrors) {
  for (std::string_view url : {"postgresql://u:hunter2/x@h/db", "postgresql://u:abc?hunter2@h/db",
                               "postgresql://u:hunter2%zz@h/db", "postgresql://u:hun:ter2@h:x/db",
                               "postgresql://u:hunter2@h:99999/db",
                               "postgresql://u:hunter2@[::1/db",
                               "postgresql://h/db?password=hunter2&port=x",
                               "postgresql://h/db?sslpassword=hunter2&x",
                               "postgres://u:hunter2@h/%", "mysql://u:hunter2@h/db"}) {
    std::string msg = url_error(url);
    EXPECT_EQ(msg.find("hunter"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("ter2"), std::string::npos) << msg;
  }
}

TEST(UrlTest, RedactedReplacesThePassword) {
  Url u = parse_url("postgresql://app:s3cr%40t@db:5432/app?sslmode=require");
  EXPECT_EQ(u.redacted(), "postgresql://app:***@db:5432/app?sslmode=require");
  EXPECT_EQ(u.redacted().find("s3cr"), std::string::npos);
}

TEST(UrlTest, RedactedWithoutPasswordIsTheUrl) {
  EXPECT_EQ(parse_url("postgresql://app@db/app").redacted(), "postgresql://app@db/app");
  EXPECT_EQ(parse_url("sqlite:///./data/app.db").redacted(), "sqlite:///./data/app.db");
}

TEST(UrlTest, RedactedHidesPasswordGivenAsParameter) {
  Url u = parse_url("postgresql://h/db?password=topsecret&sslpassword=keypass");
  EXPECT_EQ(*u.password, "topsecret");
  std::string r = u.redacted();
  EXPECT_EQ(r.find("topsecret"), std::string::npos) << r;
  EXPECT_EQ(r.find("keypass"), std::string::npos) << r;
  EXPECT_NE(r.find("sslpassword=***"), std::string::npos) << r;
}

TEST(UrlTest, EmptyPasswordIsStillRedacted) {
  EXPECT_EQ(parse_url("postgresql://u:@h/db").redacted(), "postgresql://u:***@h/db");
}

TEST(UrlTest, ToStringRoundTrips) {
  for (std::string_view text :
       {"sqlite:///relative.db", "sqlite:////absolute.db", "sqlite:///:memory:",
        "sqlite:///a.db?mode=ro", "sqlite:///my%20data/a%3Fb%25.db", "postgresql://",
        "postgresql://app@db/app", "postgresql://app:p%40ss%3Aw%2Frd@db:5432/app?sslmode=require",
        "postgresql://u@%2Fvar%2Frun%2Fpostgresql/db", "postgresql://u@[::1]:5432/db",
        "postgresql://h/db?options=-c%20x%3Dy&application_name=a%26b",
        "postgresql://%C3%BCser:%E2%82%AC@h/d%C3%B6", "postgresql://[fe80::1%25eth0]/db",
        "postgresql://%2Ftmp%2Fa%3Ab/db", "postgresql:///db?host=a,b&port=1,2&sslmode=disable"}) {
    Url u = parse_url(text);
    Url back = parse_url(u.to_string());
    EXPECT_EQ(back.backend, u.backend) << text;
    EXPECT_EQ(back.path, u.path) << text;
    EXPECT_EQ(back.host, u.host) << text;
    EXPECT_EQ(back.port, u.port) << text;
    EXPECT_EQ(back.dbname, u.dbname) << text;
    EXPECT_EQ(back.user, u.user) << text;
    EXPECT_EQ(back.password, u.password) << text;
    EXPECT_EQ(back.params, u.params) << text;
  }
}

TEST(UrlTest, ToStringForms) {
  EXPECT_EQ(parse_url("sqlite:////abs/x.db").to_string(), "sqlite:////abs/x.db");
  EXPECT_EQ(parse_url("sqlite:///:memory:").to_string(), "sqlite:///:memory:");
  EXPECT_EQ(parse_url("postgres://u:p%2Fw@h:5/d").to_string(), "postgresql://u:p%2Fw@h:5/d");
  EXPECT_EQ(parse_url("postgresql:///d?host=/tmp").to_string(), "postgresql://%2Ftmp/d");
  EXPECT_EQ(parse_url("postgresql://[::1]:5/d").to_string(), "postgresql://[::1]:5/d");
}

TEST(UrlTest, UrlBuiltInCodeRendersToo) {
  Url u;
  u.backend = Backend::postgresql;
  u.host = "db";
  u.user = "me";
  u.password = "a b/c@d";
  u.dbname = "app";
  EXPECT_EQ(u.redacted(), "postgresql://me:***@db/app");
  EXPECT_EQ(*parse_url(u.to_string()).password, "a b/c@d");
}
