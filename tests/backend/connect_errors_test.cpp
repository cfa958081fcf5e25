// Connecting to something that is not there, will not let us in, or never
// answers: a ConnectionError that names the target (password redacted), soon.
#include <gmock/gmock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "support/backend_test.hpp"
#include "support/loopback.hpp"

namespace keel {
namespace {

using testing::LoopbackSocket;

using namespace std::chrono;
using ::testing::HasSubstr;
using ::testing::Not;


class ConnectErrorsTest : public testing::BackendTest {
 protected:
  // The ConnectionError that connecting with `c` (and, on SQLite, running a first
  // statement) raises.
  static ConnectionError failure(const Config& c) {
    try {
      auto conn = keel::connect(c);
      conn->query_one("SELECT count(*) FROM sqlite_master");
    } catch (const ConnectionError& e) {
      return e;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a ConnectionError: " << e.what();
      return ConnectionError(ErrorKind::other, e.what());
    }
    ADD_FAILURE() << "connected to " << c.url.redacted();
    return ConnectionError(ErrorKind::other, "none");
  }

  // This test's PostgreSQL URL pointed at a loopback port.
  Config on_port(int port) const {
    Config c = config();
    c.url.host = "127.0.0.1";
    c.url.port = std::to_string(port);
    return c;
  }
};

TEST_P(ConnectErrorsTest, RejectedLoginIsConnectionErrorWithoutThePassword) {
  Config c = config();
  if (is_postgresql()) {
    const std::string secret = "Wr0ng-Pa55-7f3a9c";
    c.url.password = secret;
    ConnectionError e = failure(c);
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_THAT(e.what(), HasSubstr("cannot connect to " + c.url.redacted()));
    EXPECT_THAT(e.what(), HasSubstr("password authentication failed"));
    EXPECT_THAT(e.what(), Not(HasSubstr(secret)));
  } else {
    // SQLite has no login; what it rejects is a file that is not a database. The
    // open succeeds (SQLite reads lazily), the first statement fails.
    auto path = temp_dir() / "garbage.db";
    std::ofstream(path) << std::string(4096, 'x');
    c.url = parse_url("sqlite:///" + path.string());
    ConnectionError e = failure(c);
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_EQ(e.native_code(), 26);  // SQLITE_NOTADB
  }
}

TEST_P(ConnectErrorsTest, MissingTargetIsConnectionErrorNamingItAtOnce) {
  Config c = config();
  if (is_postgresql()) {
    LoopbackSocket closed(false);
    c = on_port(closed.port());
    closed.close();  // nothing listens there now: refused at once
  } else {
    // A directory that cannot be created: its parent is a regular file.
    auto file = temp_dir() / "plain-file";
    std::ofstream(file) << "not a directory";
    c.url = parse_url("sqlite:///" + (file / "sub" / "app.db").string());
  }
  auto start = steady_clock::now();
  ConnectionError e = failure(c);
  EXPECT_LT(steady_clock::now() - start, seconds(2));
  EXPECT_EQ(e.kind(), ErrorKind::connection);
  if (is_postgresql()) {
    EXPECT_THAT(e.what(), HasSubstr(c.url.redacted()));
    EXPECT_THAT(e.what(), HasSubstr("refused"));
    EXPECT_THAT(e.what(), Not(HasSubstr(":keel@")));  // the harness's password
  } else {
    EXPECT_THAT(e.what(), HasSubstr((temp_dir() / "plain-file").string()));
  }
}

TEST_P(ConnectErrorsTest, SilentServerFailsWithinTheConnectTimeout) {
  if (is_postgresql()) {
    // Accepts (the kernel completes the handshake) and never says a word.
    LoopbackSocket silent(true);
    Config c = on_port(silent.port());
    c.postgresql.connect_timeout_s = 1;
    auto start = steady_clock::now();
    ConnectionError e = failure(c);
    auto took = steady_clock::now() - start;
    EXPECT_GE(took, milliseconds(900));
    EXPECT_LT(took, seconds(3));
    EXPECT_THAT(e.what(), HasSubstr(c.url.redacted()));
    EXPECT_THAT(e.what(), HasSubstr("timed out after 1 s"));
  } else {
    // SQLite's wait is the busy timeout: a writer blocked by another gives up in
    // time instead of hanging.
    Config c = config();
    c.sqlite.busy_timeout_ms = 300;
    auto holder = keel::connect(c);
    holder->execute_script("CREATE TABLE t (x integer)");
    holder->begin();
    holder->execute("INSERT INTO t (x) VALUES (1)");
    auto blocked = keel::connect(c);
    auto start = steady_clock::now();
    try {
      blocked->execute("INSERT INTO t (x) VALUES (2)");
      ADD_FAILURE() << "no error while another writer holds the lock";
    } catch (const DatabaseError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::busy);
    }
    auto took = steady_clock::now() - start;
    EXPECT_GE(took, milliseconds(250));
    EXPECT_LT(took, seconds(3));
    holder->rollback();
  }
}

TEST_P(ConnectErrorsTest, UrlParameterConnectTimeoutWinsOverTheConfig) {
  if (is_sqlite()) {
    // No network on SQLite: a URL with unknown-to-libpq parameters is not sent anywhere,
    // and the configured database opens as usual.
    EXPECT_EQ(connect()->query_one("SELECT 7")->get<int>(0), 7);
    return;
  }
  LoopbackSocket silent(true);
  Config c = on_port(silent.port());
  c.postgresql.connect_timeout_s = 30;
  c.url.params["connect_timeout"] = "1";
  auto start = steady_clock::now();
  ConnectionError e = failure(c);
  EXPECT_LT(steady_clock::now() - start, seconds(3));
  EXPECT_THAT(e.what(), HasSubstr("timed out"));
}

KEEL_BACKEND_TEST_SUITE(ConnectErrorsTest);

}  // namespace
}  // namespace keel
