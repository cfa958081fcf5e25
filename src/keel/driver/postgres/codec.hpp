// driver/postgres/codec.hpp — Values to libpq parameters and result text to Values.
//
// Parameters go in text format (the server infers their types from the statement),
// except Blobs, which go in binary so bytea needs no escaping. Results are read in
// text format and decoded by the column's type OID. Internal.
#pragma once

#include <libpq-fe.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "driver/placeholders.hpp"
#include "keel/value.hpp"

namespace keel::driver::pg {

// The arrays PQsendQueryPrepared/PQsendQueryParams take, with their storage.
struct EncodedParams {
  std::vector<std::string> text;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;

  int size() const noexcept { return static_cast<int>(values.size()); }
};

// Encodes `values` (in $n order); throws TypeError for a Text holding a NUL byte,
// naming the parameter ($k or :name) and the statement.
void encode_params(const std::vector<const Value*>& values, const Placeholders& placeholders,
                   std::string_view sql, EncodedParams& out);

// One Value in PostgreSQL's text input syntax (not for Blob or NULL).
std::string to_pg_text(const Value& value);
// Same, into `out`, reusing its storage.
void assign_pg_text(const Value& value, std::string& out);

// Sets `out` to a string-holding alternative S (std::string, Json, Decimal) with
// `text`, reusing the capacity of the string it already holds: rows are read into
// the same Values one after another.
template <class S>
void assign_text(Value& out, std::string_view text) {
  if constexpr (std::is_same_v<S, std::string>) {
    if (auto* s = std::get_if<std::string>(&out.storage())) {
      s->assign(text);
      return;
    }
    out.storage().emplace<std::string>(text);
  } else {
    if (auto* s = std::get_if<S>(&out.storage())) {
      s->text.assign(text);
      return;
    }
    out.storage().emplace<S>(S{std::string(text)});
  }
}

// The Value for one text-format field of type `type`. Dates and timestamps keel
// cannot represent (±infinity, BC, years past 9999) come back as text, as the
// server spelled them: reading one with get<Date>/get<Timestamp> then throws a
// TypeError naming the column, instead of the whole row failing to decode.
Value decode_value(Oid type, const char* data, int length);
// Same, into `out`, reusing the storage of the text it holds (rows are read into
// the same Values one after another).
void decode_value(Oid type, const char* data, int length, Value& out);

}  // namespace keel::driver::pg
