// Database::health() on a healthy database and on ones that cannot answer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "keel/database.hpp"
#include "support/backend_test.hpp"
#include "support/loopback.hpp"

namespace keel {
namespace {

using testing::LoopbackSocket;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;


class HealthTest : public testing::BackendTest {
 protected:
  // This test's config pointed at 127.0.0.1:port (PostgreSQL).
  Config at_port(int port) const {
    Config c = config();
    c.url.host = "127.0.0.1";
    c.url.port = std::to_string(port);
    return c;
  }
  // A SQLite database path that cannot be opened: its directory is a regular file.
  Config unopenable_sqlite() const {
    std::ofstream(temp_dir() / "regular-file") << "not a directory";
    Config c = config();
    c.url = parse_url("sqlite:///" + (temp_dir() / "regular-file" / "app.db").string());
    return c;
  }
  // No password, in any form, in `text`.
  void expect_no_password(const std::string& text) const {
    const auto& pw = config().url.password;
    if (pw && !pw->empty()) {
      EXPECT_EQ(text.find(":" + *pw + "@"), std::string::npos) << text;
      EXPECT_EQ(text.find(config().url.to_string()), std::string::npos) << text;
    }
  }
};

TEST_P(HealthTest, HealthyDatabaseReportsOkWithVersionAndLatency) {
  Database db(config());
  HealthReport h = db.health();
  EXPECT_TRUE(h.ok) << h.error;
  EXPECT_EQ(h.backend, backend());
  EXPECT_EQ(h.url, config().url.redacted());
  EXPECT_FALSE(h.server_version.empty());
  EXPECT_GT(h.latency_ms, 0.0);
  EXPECT_LT(h.latency_ms, 5000.0);
  EXPECT_TRUE(h.error.empty());
  EXPECT_EQ(h.pool.size, config().pool.size);
}

TEST_P(HealthTest, JsonParsesAndCarriesNoPassword) {
  Database db(config());
  db.execute("SELECT 1");  // so the pool has something to report
  HealthReport h = db.health();
  ASSERT_TRUE(h.ok) << h.error;
  std::string text = h.to_json();
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["backend"], to_string(backend()));
  EXPECT_EQ(j["url"], config().url.redacted());
  EXPECT_EQ(j["server_version"], h.server_version);
  EXPECT_GT(j["latency_ms"].get<double>(), 0.0);
  EXPECT_TRUE(j["error"].is_null());
  const auto& pool = j["pool"];
  for (const char* key : {"size", "max_overflow", "open", "idle", "in_use", "waiting",
                          "acquired", "created", "recycled", "discarded", "timeouts",
                          "rollbacks"})
    EXPECT_TRUE(pool.contains(key)) << key;
  EXPECT_EQ(pool["idle"], 1);
  EXPECT_EQ(pool["acquired"], 1);
  expect_no_password(text);
  if (config().url.password) {
    EXPECT_NE(text.find("***"), std::string::npos) << text;
  }
}

TEST_P(HealthTest, TextReportHasOneAlignedLinePerField) {
  Database db(config());
  HealthReport h = db.health();
  std::string text = h.to_text();
  EXPECT_NE(text.find("status         ok\n"), std::string::npos) << text;
  EXPECT_NE(text.find(std::string("backend        ") + to_string(backend())), std::string::npos)
      << text;
  EXPECT_NE(text.find("server version " + h.server_version), std::string::npos) << text;
  EXPECT_NE(text.find("latency        "), std::string::npos) << text;
  EXPECT_EQ(text.find("error"), std::string::npos) << text;
  expect_no_password(text);
}

TEST_P(HealthTest, ClosedPortOrUnopenablePathIsUnhealthyQuickly) {
  LoopbackSocket closed(false);
  Config c = is_sqlite() ? unopenable_sqlite() : at_port(closed.port());
  closed.close();  // bound, then released: nothing listens there
  Database db(c);
  auto start = Clock::now();
  HealthReport h = db.health(2s);
  auto took = Clock::now() - start;
  EXPECT_FALSE(h.ok);
  EXPECT_FALSE(h.error.empty());
  EXPECT_TRUE(h.server_version.empty());
  EXPECT_LT(took, 2s);
  if (is_sqlite()) {
    EXPECT_NE(h.error.find("regular-file"), std::string::npos) << h.error;
  }
  auto j = nlohmann::json::parse(h.to_json());
  EXPECT_EQ(j["status"], "unhealthy");
  EXPECT_EQ(j["error"], h.error);
  EXPECT_TRUE(j["server_version"].is_null());
  EXPECT_NE(h.to_text().find("error          " + h.error), std::string::npos);
  expect_no_password(h.to_json());
  expect_no_password(h.to_text());
}

TEST_P(HealthTest, ServerThatNeverAnswersTimesOutInsteadOfHanging) {
  // PostgreSQL: a listener that completes the handshake and then says nothing.
  // SQLite's counterpart of a server that cannot answer: a file that is not a
  // database, found on open rather than hanging.
  LoopbackSocket silent(true);
  Config c = config();
  if (is_sqlite()) {
    std::ofstream(temp_dir() / "garbage.db") << std::string(8192, 'x');
    c.url = parse_url("sqlite:///" + (temp_dir() / "garbage.db").string());
  } else {
    c = at_port(silent.port());
  }
  Database db(c);
  auto start = Clock::now();
  HealthReport h = db.health(1s);
  auto took = Clock::now() - start;
  EXPECT_FALSE(h.ok);
  EXPECT_FALSE(h.error.empty());
  EXPECT_LT(took, 3500ms) << h.error;
  if (is_postgresql()) {
    EXPECT_GE(took, 900ms) << "should have waited for the timeout";
  }
  expect_no_password(h.error);
  // Nothing was stored: the file is as it was.
  if (is_sqlite()) {
    EXPECT_EQ(std::filesystem::file_size(temp_dir() / "garbage.db"), 8192u);
  }
}

TEST_P(HealthTest, HealthNeverThrowsAndLeavesThePoolAlone) {
  Database db(config());
  {
    auto lease = db.connection();
    HealthReport h = db.health(1s);
    EXPECT_TRUE(h.ok) << h.error;
    EXPECT_EQ(h.pool.in_use, 1);
  }
  PoolStats s = db.pool_stats();
  EXPECT_EQ(s.created, 1u);  // the probe's connection is not the pool's
  EXPECT_EQ(s.acquired, 1u);
}

KEEL_BACKEND_TEST_SUITE(HealthTest);

}  // namespace
}  // namespace keel
