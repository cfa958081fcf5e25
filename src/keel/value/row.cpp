// Row: column lookup and the labels TypeErrors carry.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "keel/error.hpp"
#include "keel/value.hpp"

namespace keel {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

const std::string& Row::name(std::size_t i) const {
  static const std::string unnamed;
  if (i >= values_.size()) {
    throw UsageError(
        fmt::format("column #{} is out of range: the row has {} columns", i, values_.size()));
  }
  if (!names_ || i >= names_->size()) return unnamed;
  return (*names_)[i];
}

std::size_t Row::index(std::string_view name) const {
  if (names_) {
    // The first match wins, as in SQLite and libpq, when a join repeats a name.
    for (std::size_t i = 0; i < names_->size() && i < values_.size(); ++i)
      if ((*names_)[i] == name) return i;
  }
  std::string columns;
  std::string hint;
  if (names_) {
    for (std::size_t i = 0; i < names_->size(); ++i) {
      columns += fmt::format("{}'{}'", i ? ", " : "", (*names_)[i]);
      // Names are matched exactly (PostgreSQL folds unquoted names to lower case,
      // SQLite keeps them as written), so point at a near miss rather than guess.
      if (hint.empty() && iequals((*names_)[i], name))
        hint = fmt::format(" (names are case-sensitive: did you mean '{}'?)", (*names_)[i]);
    }
  }
  throw UsageError(fmt::format("no column '{}' in the row{}; its columns are: {}", name, hint,
                               columns.empty() ? std::string("(none)") : columns));
}

const Value& Row::operator[](std::size_t i) const {
  if (i >= values_.size()) {
    throw UsageError(
        fmt::format("column #{} is out of range: the row has {} columns", i, values_.size()));
  }
  return values_[i];
}

namespace detail {

std::string Label::str() const {
  if (!column_) return std::string(text_);
  if (names_ && index_ < names_->size())
    return fmt::format("column '{}' (#{})", (*names_)[index_], index_);
  return fmt::format("column #{}", index_);
}

}  // namespace detail

}  // namespace keel
