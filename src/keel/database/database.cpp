// The Database facade: a Config, a Pool whose factory is keel::connect(), and the
// backend's Dialect. Nothing here knows which backend it talks to.
#include "keel/database.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace keel {
namespace {

using Clock = std::chrono::steady_clock;

// sqlite:///:memory: is one database per connection: the pool must hand out the
// same connection every time and never replace it for age.
PoolOptions effective_pool(const Config& config) {
  PoolOptions p = config.pool;
  if (config.url.is_memory()) {
    p.size = 1;
    p.max_overflow = 0;
    p.recycle_s = 0;
  }
  return p;
}

void create_parent_directory(const Config& config) {
  if (!config.is_sqlite() || config.url.is_memory() || config.url.path.empty()) return;
  std::filesystem::path parent = std::filesystem::path(config.url.path).parent_path();
  if (parent.empty()) return;
  // Failure is left to the first connect, whose error names the file; the
  // constructor promises not to fail on an unusable database.
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
}

// Belt and braces: driver messages carry redacted URLs, but a password that a
// server echoes back (or a libpq message quoting a conninfo) must not leak either.
// Short passwords are left alone: replacing every "keel" in a message would hide
// user and database names while protecting nothing worth the name.
std::string scrub(std::string message, const Url& url) {
  if (url.password && url.password->size() >= 6) {
    const std::string& pw = *url.password;
    for (auto pos = message.find(pw); pos != std::string::npos;
         pos = message.find(pw, pos + 3))
      message.replace(pos, pw.size(), "***");
  }
  return message;
}

// Puts the connection back in a state the pool accepts, or marks it for discard.
void roll_back_quietly(Pool::Lease& lease) noexcept {
  if (!lease) return;
  try {
    if (lease->transaction_depth() > 0 || lease->in_transaction()) lease->abandon_transaction();
  } catch (...) {
    lease.discard();
  }
}

}  // namespace

struct Database::Impl {
  Config config;
  const Dialect* dialect;
  Pool pool;

  explicit Impl(Config c)
      : config(std::move(c)),
        dialect(&dialect_for(config.url.backend)),
        pool(effective_pool(config), [cfg = config] { return keel::connect(cfg); }) {}
};

Database::Database(Config config) {
  create_parent_directory(config);
  impl_ = std::make_unique<Impl>(std::move(config));
}

Database::~Database() = default;

const Config& Database::config() const noexcept { return impl_->config; }
Backend Database::backend() const noexcept { return impl_->config.url.backend; }
const Dialect& Database::dialect() const noexcept { return *impl_->dialect; }

void Database::run_transaction(const std::function<void(Connection&)>& body,
                               TransactionOptions options) {
  auto backoff = std::max(options.backoff, std::chrono::milliseconds(0));
  for (int attempt = 0;; ++attempt) {
    Pool::Lease lease = impl_->pool.acquire();
    try {
      lease->begin();
      body(*lease);
      lease->commit();
      return;
    } catch (const Error& e) {
      roll_back_quietly(lease);
      if (!e.retryable() || attempt >= options.retries) throw;
    } catch (...) {
      roll_back_quietly(lease);
      throw;
    }
    // Give the connection back before sleeping: the competing transaction may
    // need a pooled connection to finish.
    lease = Pool::Lease();
    if (backoff.count() > 0) std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

std::int64_t Database::execute(std::string_view sql, const Params& params) {
  auto lease = impl_->pool.acquire();
  return lease->execute(sql, params);
}

Rows Database::query(std::string_view sql, const Params& params) {
  auto lease = std::make_shared<Pool::Lease>(impl_->pool.acquire());
  Rows rows = (*lease)->query(sql, params);
  // The rows stream straight from the driver's cursor; Rows closes that cursor
  // before it lets go of the lease.
  return Rows(std::move(rows), std::move(lease));
}

std::optional<Row> Database::query_one(std::string_view sql, const Params& params) {
  auto lease = impl_->pool.acquire();
  return lease->query_one(sql, params);
}

std::vector<Row> Database::query_all(std::string_view sql, const Params& params) {
  auto lease = impl_->pool.acquire();
  return lease->query_all(sql, params);
}

Pool::Lease Database::connection() { return impl_->pool.acquire(); }

Pool::Lease Database::connection(std::chrono::milliseconds timeout) {
  return impl_->pool.acquire(timeout);
}

PoolStats Database::pool_stats() const { return impl_->pool.stats(); }

HealthReport Database::health(std::chrono::milliseconds timeout) {
  HealthReport report;
  const Config& base = impl_->config;
  report.backend = base.url.backend;
  try {
    report.url = base.url.redacted();
    report.pool = impl_->pool.stats();

    // A fresh connection, not a pooled one: the probe must not wait for a free
    // slot, and it must see what a new connection would see now.
    Config probe = base;
    double seconds = std::max(0.0, std::chrono::duration<double>(timeout).count());
    probe.postgresql.connect_timeout_s = std::max(1, static_cast<int>(std::ceil(seconds)));
    probe.url.params.erase("connect_timeout");  // would override the bound above
    int timeout_ms = std::max(1, static_cast<int>(timeout.count()));
    if (probe.postgresql.statement_timeout_ms <= 0 ||
        probe.postgresql.statement_timeout_ms > timeout_ms)
      probe.postgresql.statement_timeout_ms = timeout_ms;
    probe.sqlite.busy_timeout_ms = std::min(probe.sqlite.busy_timeout_ms, timeout_ms);

    auto conn = keel::connect(probe);
    const auto start = Clock::now();
    auto row = conn->query_one("SELECT 1");
    report.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!row || row->get<std::int64_t>(0) != 1)
      throw ConnectionError(ErrorKind::connection, "SELECT 1 did not answer 1");
    report.server_version = conn->server_version();
    report.ok = true;
  } catch (const std::exception& e) {
    report.ok = false;
    report.error = scrub(e.what(), base.url);
  } catch (...) {
    report.ok = false;
    report.error = "unknown error";
  }
  return report;
}

std::unique_ptr<InstanceLock> Database::instance_lock(std::string_view name) {
  return acquire_instance_lock(impl_->config, name);
}

std::string HealthReport::to_json() const {
  nlohmann::ordered_json j;
  j["status"] = ok ? "ok" : "unhealthy";
  j["backend"] = keel::to_string(backend);
  j["url"] = url;
  j["server_version"] = server_version.empty() ? nlohmann::ordered_json(nullptr)
                                               : nlohmann::ordered_json(server_version);
  // Microsecond resolution is all a round trip measurement is worth.
  j["latency_ms"] = std::round(latency_ms * 1000.0) / 1000.0;
  j["pool"] = {{"size", pool.size},           {"max_overflow", pool.max_overflow},
               {"open", pool.open},           {"idle", pool.idle},
               {"in_use", pool.in_use},       {"waiting", pool.waiting},
               {"acquired", pool.acquired},   {"created", pool.created},
               {"recycled", pool.recycled},   {"discarded", pool.discarded},
               {"timeouts", pool.timeouts},   {"rollbacks", pool.rollbacks}};
  j["error"] = ok ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(error);
  // replace: a message with invalid UTF-8 (from a server) must not make dump() throw.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string HealthReport::to_text() const {
  std::string out;
  auto line = [&](std::string_view key, const std::string& value) {
    out += fmt::format("{:<15}{}\n", key, value);
  };
  line("status", ok ? "ok" : "unhealthy");
  line("backend", keel::to_string(backend));
  line("url", url);
  line("server version", server_version.empty() ? "-" : server_version);
  line("latency", ok ? fmt::format("{:.3f} ms", latency_ms) : "-");
  line("pool", fmt::format("size {} + overflow {}: {} open ({} idle, {} in use), {} waiting",
                           pool.size, pool.max_overflow, pool.open, pool.idle, pool.in_use,
                           pool.waiting));
  line("", fmt::format("acquired {}, created {}, recycled {}, discarded {}, timeouts {}, "
                       "rollbacks {}",
                       pool.acquired, pool.created, pool.recycled, pool.discarded, pool.timeouts,
                       pool.rollbacks));
  if (!ok) line("error", error);
  return out;
}

}  // namespace keel
