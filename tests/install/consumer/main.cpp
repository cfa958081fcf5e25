// Opens an in-memory SQLite database through an installed keel and prints 42.
#include <keel/keel.hpp>

#include <iostream>

int main() {
  keel::Config config = keel::default_config();
  config.url = keel::parse_url("sqlite:///:memory:");
  keel::Database db(config);
  auto row = db.query_one("SELECT 42 AS answer");
  std::cout << row->get<std::int64_t>("answer") << '\n';
  return 0;
}
