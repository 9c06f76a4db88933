// simdjson's on-demand parser as a faster front end for nlohmann::json (internal to NIC).
//
// nlohmann's own lexer builds every token one character at a time; it was most of the cost of
// `nic import` and of every state read (bench/FINDINGS.md). These helpers let simdjson do the
// lexing and build the same nlohmann values json::parse would build: the same number types
// (non-negative integers unsigned, negative ones signed, anything with '.', 'e' or 'E' a
// double), the last of duplicate keys winning. They give up (return an error) on anything they
// cannot build exactly that way, so every caller keeps nlohmann as its reference path: it runs
// on an error and produces the error message users see.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "nic/json_limits.h"

namespace nic::simd {

namespace od = simdjson::ondemand;

// The bytes simdjson reads. simdjson needs SIMDJSON_PADDING readable bytes after the end; a
// buffer whose `capacity` leaves them (Env::ReadFile reserves them) is read in place, anything
// else is copied once into a padded buffer.
class PaddedInput {
 public:
  PaddedInput(std::string_view bytes, size_t capacity);
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }

 private:
  simdjson::padded_string copy_;
  const char* data_;
  size_t size_;
  size_t capacity_;
};

// Builds `out` from `v` as nlohmann's DOM parser would. Consumes `v`. A value nesting more
// than `max_depth` arrays/objects (counting `v` or `o` itself) is DEPTH_ERROR: the bound
// CheckJsonDepth enforces (nic/json_limits.h), kept during the walk instead of a pass of its own.
simdjson::error_code ToJson(od::value v, nlohmann::json& out, int max_depth = kMaxJsonDepth);
simdjson::error_code ObjectToJson(od::object o, nlohmann::json& out, int max_depth = kMaxJsonDepth);

// A string value (INCORRECT_TYPE for anything else). Most strings have no escapes: they are
// copied straight from the input, which stage 1 has already checked (UTF-8, no raw control
// characters), and simdjson's string buffer, which would otherwise grow to the size of all the
// document's strings, is not touched.
simdjson::error_code GetString(od::value& v, std::string* out);

// An object key: a view into the input when it has no escapes, else simdjson's unescaped copy
// (valid while the document is).
simdjson::error_code Key(od::field& f, std::string_view* out);

// True when nothing but whitespace follows the document's value.
bool AtEnd(od::document& doc);

// The whole document, which must be a JSON object nested at most `max_depth` levels with
// nothing after it. False on any error; the caller then checks the depth (CheckJsonDepth) and
// parses with nlohmann to report it.
bool ParseObject(std::string_view bytes, size_t capacity, nlohmann::json* out, int max_depth = kMaxJsonDepth);

}  // namespace nic::simd
