#include "importers/terraform/tfstate_scan.h"

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace nic::tfimport {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

class Scanner {
 public:
  explicit Scanner(std::string_view s) : p_(s.data()), n_(s.size()) {}

  size_t SkipSpace(size_t i) const {
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

  // The next '"', '[', ']', '{' or '}' at or after i (outside strings: the caller skips them).
  size_t NextStructural(size_t i) const {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    // '[' 0x5B, ']' 0x5D, '{' 0x7B, '}' 0x7D differ only in bits 0x26: with those cleared all
    // four are 0x59 (so are 'Y', '_', 'y' and 0x7F, which the exact check below drops).
    const __m128i fold = _mm_set1_epi8(static_cast<char>(~0x26));
    const __m128i bracket = _mm_set1_epi8(0x59);
    while (i + 16 <= n_) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + i));
      __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                 _mm_cmpeq_epi8(_mm_and_si128(v, fold), bracket));
      unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
      while (mask != 0) {
        size_t j = i + static_cast<size_t>(__builtin_ctz(mask));
        if (IsStructural(p_[j])) return j;
        mask &= mask - 1;
      }
      i += 16;
    }
#endif
    while (i < n_ && !IsStructural(p_[i])) ++i;
    return i;
  }

  static bool IsStructural(char c) { return c == '"' || c == '[' || c == ']' || c == '{' || c == '}'; }

  // i at '[' or '{' whose depth is `depth`; returns the offset just past the matching close.
  size_t SkipContainer(size_t i, int depth) {
    int d = depth;
    NoteDepth(d);
    ++i;
    while (true) {
      i = NextStructural(i);
      if (i >= n_) return kNone;
      char c = p_[i];
      if (c == '"') {
        i = SkipString(i + 1);
        if (i == kNone) return kNone;
        continue;
      }
      if (c == '[' || c == '{') {
        NoteDepth(++d);
      } else if (--d < depth) {
        return i + 1;
      }
      ++i;
    }
  }

  // Any value starting at i (not whitespace), at `depth` if it is a container.
  size_t SkipValue(size_t i, int depth) {
    if (i >= n_) return kNone;
    char c = p_[i];
    if (c == '"') return SkipString(i + 1);
    if (c == '[' || c == '{') return SkipContainer(i, depth);
    size_t start = i;
    while (i < n_ && !IsSpace(p_[i]) && p_[i] != ',' && p_[i] != '}' && p_[i] != ']') ++i;
    return i == start ? kNone : i;
  }

  bool Run(TfstateScan* out) {
    size_t i = SkipSpace(0);
    if (i >= n_ || p_[i] != '{') return false;
    NoteDepth(1);
    i = SkipSpace(i + 1);
    if (i < n_ && p_[i] == '}') return SkipSpace(i + 1) == n_;
    while (true) {
      if (i >= n_ || p_[i] != '"') return false;
      size_t key_end = SkipString(i + 1);
      if (key_end == kNone) return false;
      std::string_view key(p_ + i + 1, key_end - i - 2);
      if (key.find('\\') != std::string_view::npos) return false;  // escaped keys: whole-document path
      i = SkipSpace(key_end);
      if (i >= n_ || p_[i] != ':') return false;
      i = SkipSpace(i + 1);
      if ((key == "resources" || key == "modules") && i < n_ && p_[i] == '[') {
        ScannedArray arr;
        arr.key = key;
        arr.begin = i;
        NoteDepth(2);
        i = SkipSpace(i + 1);
        if (i < n_ && p_[i] == ']') {
          arr.end = i + 1;
        } else {
          while (true) {
            size_t e = SkipValue(i, 3);
            if (e == kNone) return false;
            arr.elements.emplace_back(i, e);
            i = SkipSpace(e);
            if (i >= n_) return false;
            if (p_[i] == ']') break;
            if (p_[i] != ',') return false;
            i = SkipSpace(i + 1);
          }
          arr.end = i + 1;
        }
        i = arr.end;
        out->arrays.push_back(std::move(arr));
      } else {
        i = SkipValue(i, 2);
        if (i == kNone) return false;
      }
      i = SkipSpace(i);
      if (i >= n_) return false;
      if (p_[i] == '}') break;
      if (p_[i] != ',') return false;
      i = SkipSpace(i + 1);
    }
    out->max_depth = max_depth_;
    return SkipSpace(i + 1) == n_;
  }

 private:
  void NoteDepth(int d) {
    if (d > max_depth_) max_depth_ = d;
  }

  const char* p_;
  size_t n_;
  int max_depth_ = 0;
};

}  // namespace

bool ScanTfstate(std::string_view bytes, TfstateScan* out) {
  *out = TfstateScan{};
  Scanner s(bytes);
  return s.Run(out);
}

}  // namespace nic::tfimport
