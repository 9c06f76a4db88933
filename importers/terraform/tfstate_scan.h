// Internal to the Terraform importer: a cheap pass over a tfstate that finds where each element
// of the top-level `resources` (v4) / `modules` (v3) arrays starts and ends, so the simdjson
// reader can parse one element at a time. simdjson's on-demand parser indexes the whole
// document it is given (4 bytes per structural character, ~75 MB for the 100 MB bench state);
// given one element at a time, its index is bounded by the largest resource.
//
// The scan only knows strings (with escapes), brackets and commas; it does not validate JSON.
// It gives up (returns false) on anything it does not expect, and the caller then reads the
// document as a whole, where the real parsers report what is wrong.
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

// False when `bytes` is not a JSON object the scan understands (no error message: the whole-
// document readers report it).
bool ScanTfstate(std::string_view bytes, TfstateScan* out);

}  // namespace nic::tfimport
