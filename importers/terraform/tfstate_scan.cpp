#include "importers/terraform/tfstate_scan.h"

#include <cstdint>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace nic::tfimport {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool EndsAtom(char c) {
  return IsSpace(c) || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' || c == '}' || c == '"';
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : p_(s.data()), n_(s.size()) {}

  // The first non-whitespace byte at or after i (pretty-printed states are mostly indentation).
  size_t SkipSpace(size_t i) const {
    if (i < n_ && !IsSpace(p_[i])) return i;  // e.g. the ',' right after a value
#if defined(__SSE2__)
    const __m128i sp = _mm_set1_epi8(' '), nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                  tab = _mm_set1_epi8('\t');
    while (i + 16 <= n_) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + i));
      __m128i ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, nl)),
                                _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, tab)));
      unsigned other = ~static_cast<unsigned>(_mm_movemask_epi8(ws)) & 0xFFFFu;
      if (other != 0) return i + static_cast<size_t>(__builtin_ctz(other));
      i += 16;
    }
#endif
    while (i < n_ && IsSpace(p_[i])) ++i;
    return i;
  }

  // i is just past an opening '"'; returns the offset just past the closing one.
  size_t SkipString(size_t i) const {
    while (true) {
#if defined(__SSE2__)
      // Strings are most of a tfstate's bytes: look at 16 at a time for '"' or '\'.
      const __m128i quote = _mm_set1_epi8('"');
      const __m128i slash = _mm_set1_epi8('\\');
      while (i + 16 <= n_) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + i));
        unsigned mask = static_cast<unsigned>(
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash))));
        if (mask != 0) {
          i += static_cast<size_t>(__builtin_ctz(mask));
          break;
        }
        i += 16;
      }
#endif
      while (i < n_ && p_[i] != '"' && p_[i] != '\\') ++i;
      if (i >= n_) return kNone;
      if (p_[i] == '"') return i + 1;
      i += 2;  // an escape: the next character cannot end the string
      if (i > n_) return kNone;
    }
  }

  ScanResult Run(TfstateScan* out) {
    size_t i = SkipSpace(0);
    if (i >= n_ || p_[i] != '{') return ScanResult::kUnsupported;
    enum Expect { kValue, kValueOrClose, kKey, kKeyOrClose, kColon, kCommaOrClose };
    Expect expect = kValue;
    std::string stack;            // '{' / '[' of each open container
    std::string_view top_key;     // the current member of the top-level object
    bool recording = false;       // inside a top-level resources/modules array
    ScannedArray arr;
    size_t value_begin = 0;       // where the current element of that array starts
    auto value_done = [&](size_t end) {
      expect = kCommaOrClose;
      if (recording && stack.size() == 2) arr.elements.emplace_back(value_begin, end);
    };
    auto value_starts = [&](size_t at) {
      if (stack.size() == 2) value_begin = at;
    };
    while (true) {
      i = SkipSpace(i);
      if (i >= n_) return ScanResult::kMalformed;  // the top-level object never closed
      const char c = p_[i];
      switch (c) {
        case '"': {
          size_t end = SkipString(i + 1);
          if (end == kNone) return ScanResult::kMalformed;
          if (expect == kKey || expect == kKeyOrClose) {
            if (stack.size() == 1) {
              top_key = std::string_view(p_ + i + 1, end - i - 2);
              if (top_key.find('\\') != std::string_view::npos) return ScanResult::kUnsupported;
            }
            expect = kColon;
          } else if (expect == kValue || expect == kValueOrClose) {
            value_starts(i);
            value_done(end);
          } else {
            return ScanResult::kMalformed;
          }
          i = end;
          break;
        }
        case ':':
          if (expect != kColon) return ScanResult::kMalformed;
          expect = kValue;
          ++i;
          break;
        case ',':
          if (expect != kCommaOrClose) return ScanResult::kMalformed;
          expect = stack.back() == '{' ? kKey : kValue;
          ++i;
          break;
        case '{':
        case '[':
          if (expect != kValue && expect != kValueOrClose) return ScanResult::kMalformed;
          value_starts(i);
          if (stack.size() == 1 && c == '[' && (top_key == "resources" || top_key == "modules")) {
            recording = true;
            arr = ScannedArray{};
            arr.key = top_key;
            arr.begin = i;
          }
          stack.push_back(c);
          if (static_cast<int>(stack.size()) > out->max_depth) out->max_depth = static_cast<int>(stack.size());
          expect = c == '{' ? kKeyOrClose : kValueOrClose;
          ++i;
          break;
        case '}':
        case ']': {
          const char open = c == '}' ? '{' : '[';
          if (stack.empty() || stack.back() != open) return ScanResult::kMalformed;
          if (expect != kCommaOrClose && expect != (c == '}' ? kKeyOrClose : kValueOrClose)) {
            return ScanResult::kMalformed;
          }
          stack.pop_back();
          ++i;
          if (stack.empty()) return SkipSpace(i) == n_ ? ScanResult::kOk : ScanResult::kMalformed;
          if (recording && stack.size() == 1) {
            recording = false;
            arr.end = i;
            out->arrays.push_back(std::move(arr));
            expect = kCommaOrClose;
            break;
          }
          value_done(i);
          break;
        }
        default: {  // a number or a literal: simdjson checks its spelling when it reads it
          if (expect != kValue && expect != kValueOrClose) return ScanResult::kMalformed;
          size_t j = i;
          while (j < n_ && !EndsAtom(p_[j])) ++j;
          value_starts(i);
          value_done(j);
          i = j;
          break;
        }
      }
    }
  }

 private:
  const char* p_;
  size_t n_;
};

}  // namespace

ScanResult ScanTfstate(std::string_view bytes, TfstateScan* out) {
  *out = TfstateScan{};
  Scanner s(bytes);
  return s.Run(out);
}

}  // namespace nic::tfimport
