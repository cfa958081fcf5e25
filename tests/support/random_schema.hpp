// tests/support/random_schema.hpp — seeded random schema models for round-trip tests.
//
// One seed, one model, the same on every run, so a failing seed reproduces. Over a
// few dozen seeds the models cover every portable type, every default kind
// (literal of each type, CURRENT_TIMESTAMP, expression), composite primary keys,
// unique constraints, named checks, plain/unique/partial/multi-column indexes,
// foreign keys with every action (composite, self-referencing and in cycles),
// autoincrement keys, reserved words and mixed case as names, and names long
// enough to be shortened.
#pragma once

#include <cstdint>

#include "keel/schema.hpp"

namespace keel::testing {

// A valid model for `seed` (validate() accepts it; it has not been called yet).
schema::MetaData random_schema(std::uint64_t seed);

}  // namespace keel::testing
