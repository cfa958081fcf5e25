// The sessions example's database (examples/sessions) moved to PostgreSQL the way
// an install outgrows SQLite: the source built by the example's migration history and
// filled like a running daemon fills it, the target built by the same history inside
// the transfer's transaction, verified with checksums, then compared row by row with
// the values read the way the application reads them (typed getters, not the
// transfer's coercion code).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "keel/database.hpp"
#include "keel/migrate.hpp"
#include "transfer_support.hpp"

namespace keel {
namespace {

const std::string kExampleMigrations = KEEL_SOURCE_DIR "/examples/sessions/migrations";
constexpr int kSessions = 120;

class TransferExampleTest : public ::testing::Test, public testing::TransferFixture {
 protected:
  void SetUp() override {
    make_endpoints();
    Database db(source_config());
    migrate::upgrade(db, kExampleMigrations, "head");
  }
  void TearDown() override { drop_endpoints(); }

  // Rows as the daemon and its older versions wrote them: ISO timestamps with an
  // offset, with Z, and without one (UTC), JSON payloads, 0/1 booleans, decimal costs
  // as text and one as a float, uuids as text.
  void fill_source() const {
    auto s = source();
    s->transaction([&] {
      const char* stamps[] = {"2024-03-01T10:00:00+00:00", "2024-03-01 10:00:00",
                              "2024-03-01T12:00:00.123456+02:00", "2024-03-01T10:00:00Z",
                              "2024-02-29T23:59:59.5-05:00"};
      for (int i = 1; i <= kSessions; ++i) {
        std::string id = fmt::format("sess-{:04}", i);
        const char* at = stamps[i % 5];
        Value cost = i % 7 == 0   ? Value()
                     : i % 11 == 0 ? Value(2.25)  // a float an old version wrote
                                   : Value(fmt::format("{}.{:04}", i * 3, i * 37 % 10000));
        s->execute(
            "INSERT INTO sessions (id, created_at, title, metadata, computer_name, "
            "origin_adapter, working_directory, status, is_headless, total_cost_usd, "
            "last_activity_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {id, at, fmt::format("Session «{}» — ünïcode \"quoted\"", i),
             i % 3 == 0 ? Value() : Value(fmt::format(R"({{"tty": "/dev/pts/{}", "cols": 80, "tags": ["a", "b"], "nested": {{"x": 1.5}}}})", i)),
             fmt::format("host-{}", i % 4), i % 2 ? "telegram" : "cli",
             fmt::format("/home/user/project {}/src", i), i % 4 == 0 ? "closed" : "active",
             i % 5 == 0 ? 1 : 0, cost, stamps[(i + 1) % 5],
             i % 4 == 0 ? Value(stamps[(i + 2) % 5]) : Value()});
        s->execute(
            "INSERT INTO hook_outbox (session_id, event_type, payload, created_at, "
            "next_attempt_at, attempt_count, locked_by, locked_at, last_error, delivered_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {id, "stop", fmt::format(R"({{"session": "{}", "exit": {}}})", id, i % 3), at, at,
             i % 4, i % 2 ? Value("worker-1") : Value(), i % 2 ? Value(at) : Value(),
             i % 6 == 0 ? Value("HTTP 503\nretry") : Value(),
             i % 3 == 0 ? Value(stamps[i % 4]) : Value()});
        s->execute(
            "INSERT INTO notification_outbox (session_id, channel, recipient, payload, "
            "created_at, next_attempt_at, attempt_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
            {i % 9 == 0 ? Value() : Value(id), "telegram", "@ops",
             R"({"text": "done", "emoji": "✅"})", at, at, 0});
        s->execute(
            "INSERT INTO memory_observations (session_id, project, kind, title, content, tags, "
            "importance, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            {id, "keel", "decision", fmt::format("obs {}", i), "Use COPY; it's faster.\t(tab)",
             R"(["perf", "db"])", i % 11, at});
        if (i % 2 == 0)
          s->execute(
              "INSERT INTO memory_summaries (session_id, project, summary, observation_count, "
              "summary_date, created_at) VALUES (?, ?, ?, ?, ?, ?)",
              {id, "keel", "summary", i, fmt::format("2024-03-{:02}", i % 28 + 1), at});
        if (i % 3 == 0)
          s->execute("INSERT INTO voice_assignments (session_id, voice, updated_at) VALUES (?, ?, ?)",
                     {id, "alloy", at});
        s->execute(
            "INSERT INTO pending_message_deletions (session_id, adapter, chat_id, message_id, "
            "delete_after, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            {id, "telegram", "-100123", std::to_string(1000 + i), stamps[(i + 3) % 5], at});
        if (i > 1)
          s->execute(
              "INSERT INTO session_listeners (session_id, listener_session_id, events, "
              "created_at) VALUES (?, ?, ?, ?)",
              {id, fmt::format("sess-{:04}", i - 1), R"(["stop", "idle"])", at});
      }
      s->execute_script(
          "INSERT INTO agent_availability (agent, available, unavailable_until, reason, "
          "updated_at) VALUES ('claude', 1, NULL, NULL, '2024-03-01T10:00:00+00:00'), "
          "('codex', 0, '2024-03-02 08:00:00', 'rate limited', '2024-03-01 09:00:00');"
          "INSERT INTO webhook_contracts (id, name, url, secret, events, enabled, created_at, "
          "updated_at) VALUES ('6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e', 'ops', "
          "'https://hooks.example.org/x', 's3cr3t', '[\"stop\"]', 1, "
          "'2024-03-01T10:00:00+00:00', '2024-03-01T10:00:00+00:00'), "
          "('0AB1C2D3-E4F5-4061-8273-849506172839', 'audit', 'http://audit.local', NULL, '[]', "
          "0, '2024-03-01 10:00:00', '2024-03-01 10:00:00');"
          "INSERT INTO webhook_outbox (contract_id, session_id, event_type, payload, status, "
          "attempt_count, next_attempt_at, last_status_code, last_error, created_at, "
          "delivered_at) VALUES ('6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e', 'sess-0001', 'stop', "
          "'{\"a\": [1, 2.5, null, true]}', 'delivered', 1, '2024-03-01T10:00:00Z', 200, NULL, "
          "'2024-03-01T10:00:00Z', '2024-03-01T10:00:01Z'), "
          "('0AB1C2D3-E4F5-4061-8273-849506172839', NULL, 'idle', '{}', 'failed', 5, "
          "'2024-03-01 11:00:00', 503, 'Service Unavailable', '2024-03-01 10:00:00', NULL);"
          "INSERT INTO system_settings (key, value, description, updated_at) VALUES "
          "('retention_days', '30', 'days', '2024-03-01T10:00:00+00:00'), "
          "('features', '{\"voice\": true, \"limits\": {\"max\": 5}}', NULL, "
          "'2024-03-01 10:00:00'), ('motd', '\"hello\"', 'a JSON string', "
          "'2024-03-01T10:00:00+01:00');"
          "DELETE FROM hook_outbox WHERE id = (SELECT max(id) FROM hook_outbox)");
    });
  }

  // A value as the application reads it, by the column's portable type.
  static std::string as_read(const Row& row, std::size_t i, const schema::ColumnType& type) {
    if (row[i].is_null()) return "NULL";
    switch (type.kind) {
      case schema::TypeKind::timestamp: return format_timestamp(row.get<Timestamp>(i));
      case schema::TypeKind::date: return format_date(row.get<Date>(i));
      case schema::TypeKind::boolean: return row.get<bool>(i) ? "true" : "false";
      case schema::TypeKind::integer:
      case schema::TypeKind::bigint:
      case schema::TypeKind::smallint: return std::to_string(row.get<std::int64_t>(i));
      case schema::TypeKind::json: {
        const Value& v = row[i];
        std::string text = v.type() == ValueType::json ? std::get<Json>(v.storage()).text
                                                       : row.get<std::string>(i);
        return nlohmann::json::parse(text).dump();
      }
      case schema::TypeKind::numeric: {
        // The exact decimal: a float the old version wrote reads as its shortest text.
        std::string t = row[i].type() == ValueType::real ? fmt::format("{}", row.get<double>(i))
                                                         : row[i].to_display();
        if (t.find('.') != std::string::npos) {
          while (t.back() == '0') t.pop_back();
          if (t.back() == '.') t.pop_back();
        }
        return t;
      }
      case schema::TypeKind::uuid: {
        std::string t = row[i].to_display();
        for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return t;
      }
      default: return row.get<std::string>(i);
    }
  }

  // Every table's rows on both sides, read as the application reads them, sorted.
  std::int64_t expect_same_rows_as_read() const {
    auto src = source();
    auto dst = target();
    schema::MetaData meta = schema::reflect(*dst);
    std::int64_t compared = 0;
    for (const auto& t : meta.tables) {
      std::vector<std::string> cols;
      for (const auto& c : t.columns) cols.push_back(fmt::format("\"{}\"", c.name));
      std::string sql = fmt::format("SELECT {} FROM \"{}\"", fmt::join(cols, ", "), t.name);
      auto read = [&](Connection& conn) {
        std::vector<std::string> rows;
        for (const Row& row : conn.query(sql)) {
          std::vector<std::string> values;
          for (std::size_t i = 0; i < t.columns.size(); ++i)
            values.push_back(as_read(row, i, t.columns[i].type));
          rows.push_back(fmt::format("{}", fmt::join(values, " | ")));
        }
        std::sort(rows.begin(), rows.end());
        return rows;
      };
      std::vector<std::string> a = read(*src), b = read(*dst);
      EXPECT_EQ(a, b) << t.name;
      EXPECT_FALSE(a.empty()) << t.name << " has no rows: fill every table";
      compared += static_cast<std::int64_t>(a.size());
    }
    return compared;
  }
};

TEST_F(TransferExampleTest, ApplicationDatabaseMovesThroughItsMigrationsVerifiedRowByRow) {
  fill_source();
  transfer::Options o = options();
  o.migrations_dir = kExampleMigrations;
  transfer::Report report = transfer::transfer(o);
  EXPECT_TRUE(report.migrated_target);
  EXPECT_EQ(report.verify, "checksums");
  EXPECT_TRUE(report.not_carried.empty()) << fmt::format("{}", fmt::join(report.not_carried, "; "));
  for (const auto& t : report.tables) {
    EXPECT_FALSE(t.checksum.empty()) << t.name;
    EXPECT_EQ(t.rows, t.source_rows) << t.name;
  }
  EXPECT_EQ(expect_same_rows(), report.rows);
  EXPECT_EQ(expect_same_rows_as_read(), report.rows);

  // The target is at head, by the same history, and the daemon can go on writing.
  {
    Database db(pg_);
    migrate::CheckReport check = migrate::check(db, kExampleMigrations);
    EXPECT_TRUE(check.ok) << fmt::format("{}", fmt::join(check.problems, "; "));
  }
  auto t = target();
  // keel's autoincrement is a rowid alias on SQLite, which reuses a deleted largest id
  // too; the identity goes on after the largest id there is.
  std::int64_t max_hook =
      source()->query_one("SELECT max(id) FROM hook_outbox")->get<std::int64_t>(0);
  EXPECT_EQ(t->query_one("INSERT INTO hook_outbox (session_id, event_type, payload) VALUES "
                         "('sess-0001', 'stop', '{}') RETURNING id")
                ->get<std::int64_t>(0),
            max_hook + 1);
  EXPECT_EQ(t->query_one("SELECT count(*) FROM sessions WHERE is_headless")->get<std::int64_t>(0),
            kSessions / 5);
}

}  // namespace
}  // namespace keel
