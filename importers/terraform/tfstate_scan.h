// Internal to the Terraform importer: a cheap pass over a tfstate that finds where each element
// of the top-level `resources` (v4) / `modules` (v3) arrays starts and ends, so the simdjson
// reader can parse one element at a time. simdjson's on-demand parser indexes the whole
// document it is given (4 bytes per structural character, ~75 MB for the 100 MB bench state);
// given one element at a time, its index is bounded by the largest resource.
//
// The scan checks the document's structure (brackets that pair up, keys, colons and commas in
// their places, nothing after the top-level object) but not its scalars, which simdjson checks
// as it parses them: simdjson's on-demand parser alone does not notice some structural damage
// (an array holding `"k": v` pairs, a stray ':'). A damaged document goes straight to the
// reference reader, which reports it; a document the scan does not handle (a top-level key
// written with escapes, a top level that is not an object) is read as a whole.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace nic::tfimport {

struct ScannedArray {
  std::string_view key;                                 // "resources" or "modules"
  size_t begin = 0;                                     // offset of '['
  size_t end = 0;                                       // offset just past ']'
  std::vector<std::pair<size_t, size_t>> elements;     // [begin, end) of each element
};

struct TfstateScan {
  std::vector<ScannedArray> arrays;  // in document order
  int max_depth = 0;                 // deepest nesting of '[' / '{', counted as CheckJsonDepth does
};

enum class ScanResult { kOk, kUnsupported, kMalformed };
ScanResult ScanTfstate(std::string_view bytes, TfstateScan* out);

}  // namespace nic::tfimport
