// The built-in default and the precedence chain default < file < DATABASE_URL < explicit.
#include <cstdlib>

#include "keel/config.hpp"

namespace keel {

Config default_config() {
  Config config;
  config.url.backend = Backend::sqlite;
  config.url.path = "./data/app.db";
  config.url_source = "default";
  return config;
}

Config resolve_config(const ConfigSources& sources) {
  Config config = default_config();
  if (sources.file) config = load_config_file(*sources.file, std::move(config));
  if (sources.use_environment) {
    // An empty DATABASE_URL is how shells and container specs "unset" a variable.
    const char* env = std::getenv("DATABASE_URL");
    if (env != nullptr && *env != '\0') {
      config.url = parse_url(env, "DATABASE_URL");
      config.url_source = "DATABASE_URL";
    }
  }
  if (sources.explicit_url) {
    // Only the URL: pool, PRAGMA and session options from the file still apply.
    config.url = parse_url(*sources.explicit_url, sources.explicit_label);
    config.url_source = sources.explicit_label;
  }
  return config;
}

}  // namespace keel
