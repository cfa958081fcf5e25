// driver/bulk.hpp — what the drivers' bulk-insert writers share. Internal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keel::driver {

// "name" with embedded quotes doubled: the identifier quoting both backends share
// (the dialect layer sits above the driver, so it cannot be used here). Throws
// UsageError for an empty name or one with a NUL byte.
std::string quote_identifier(std::string_view name);

// "t" ("a", "b"): the target of a bulk insert; UsageError when there are no columns.
std::string bulk_target(std::string_view table, const std::vector<std::string>& columns);

}  // namespace keel::driver
