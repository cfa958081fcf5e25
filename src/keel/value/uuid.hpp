// value/uuid.hpp — the text form of a UUID's 16 bytes. Internal: shared by the
// PostgreSQL driver (binary uuid fields of a bulk read) and transfer (16-byte blobs
// bound for uuid columns), which must print them exactly alike.
#pragma once

#include <cstdint>
#include <string>

namespace keel::detail {

// The bytes as PostgreSQL prints a uuid: lowercase hex, dashed 8-4-4-4-12.
std::string uuid_text(const std::uint8_t* bytes);

}  // namespace keel::detail
