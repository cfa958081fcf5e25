// dialect/dialects.hpp — the per-backend Dialect singletons (internal).
#pragma once

#include "keel/dialect.hpp"

namespace keel::dialect {

const Dialect& sqlite();
const Dialect& postgresql();

}  // namespace keel::dialect
