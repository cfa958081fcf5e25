// config/suggest.hpp — "did you mean" for every layer's error messages.
// Internal: the config layer is the top of the stack, so every layer may use it.
#pragma once

#include <cstddef>
#include <string_view>

namespace keel::detail {

// The Levenshtein distance between `a` and `b` (bytes). Hand-written: the few lines
// are smaller than any dependency that would bring it.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace keel::detail
