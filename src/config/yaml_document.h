// A small read-only YAML document model built from libyaml's event stream.
//
// libyaml (the C library PyYAML and ruamel.yaml's C loader wrap, so the parser Nebari's own
// Python reads nebari-config.yaml with) scans and parses; this file turns its events into a tree
// that keeps what the config reader needs: node kind, scalar text, whether a scalar was written
// plain (untagged and unquoted: only those are typed as null/bool/int/float by the YAML 1.2 core
// schema), 1-based line and byte column of every node, map entries in file order and sequence
// items. Aliases point at the anchored node (shared, never copied), so a "billion laughs" file
// costs its own size to load; callers bound every walk (see the node budget in parse.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace nic::config_internal {

class YamlNode {
 public:
  // kNull: an empty node or a plain ~ / null / Null / NULL (as yaml-cpp and YAML 1.2 core).
  enum class Type : uint8_t { kNull, kScalar, kMap, kSeq };

  Type type() const { return type_; }
  bool IsNull() const { return type_ == Type::kNull; }
  bool IsScalar() const { return type_ == Type::kScalar; }
  bool IsMap() const { return type_ == Type::kMap; }
  bool IsSequence() const { return type_ == Type::kSeq; }
  // A scalar written without quotes, block indicator or tag.
  bool plain() const { return plain_; }
  // Scalar text; empty for other kinds.
  const std::string& scalar() const { return text_; }
  // Flow style ([..] / {..}) of a collection; only used to render complex keys.
  bool flow() const { return flow_; }
  int line() const { return line_; }      // 1-based
  int column() const { return column_; }  // 1-based, in bytes

  // Items of a sequence or entries of a map (0 for scalars and nulls).
  size_t size() const { return count_; }
  const YamlNode& item(size_t i) const { return *links_[i]; }
  const YamlNode& key(size_t i) const { return *links_[2 * i]; }
  const YamlNode& value(size_t i) const { return *links_[2 * i + 1]; }
  // The value of the first entry whose key is the scalar `k`; nullptr when there is none.
  const YamlNode* Find(std::string_view k) const;

  // Range-for helpers: `for (const YamlNode& item : seq.items())` and
  // `for (const auto& kv : map.entries())` (kv.first is the key, kv.second the value).
  struct Entry {
    const YamlNode& first;
    const YamlNode& second;
  };
  template <bool kMapEntries>
  class Iterator {
   public:
    explicit Iterator(const YamlNode* const* p) : p_(p) {}
    decltype(auto) operator*() const {
      if constexpr (kMapEntries) {
        return Entry{*p_[0], *p_[1]};
      } else {
        return *p_[0];
      }
    }
    Iterator& operator++() {
      p_ += kMapEntries ? 2 : 1;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return p_ != o.p_; }

   private:
    const YamlNode* const* p_;
  };
  template <bool kMapEntries>
  struct Range {
    Iterator<kMapEntries> b, e;
    Iterator<kMapEntries> begin() const { return b; }
    Iterator<kMapEntries> end() const { return e; }
  };
  Range<false> items() const {
    size_t n = type_ == Type::kSeq ? count_ : 0;
    return {Iterator<false>(links_), Iterator<false>(links_ + n)};
  }
  Range<true> entries() const {
    size_t n = type_ == Type::kMap ? 2 * size_t{count_} : 0;
    return {Iterator<true>(links_), Iterator<true>(links_ + n)};
  }

 private:
  friend class YamlStreamBuilder;
  std::string text_;
  const YamlNode* const* links_ = nullptr;  // items, or key/value pairs of a map
  uint32_t count_ = 0;
  int line_ = 0;
  int column_ = 0;
  Type type_ = Type::kNull;
  bool plain_ = false;
  bool flow_ = false;
};

// Everything a YAML stream held: one root per document (nodes owned here).
struct YamlStream {
  std::vector<const YamlNode*> documents;
  // Set when the text is not well-formed YAML (or is nested deeper than the parse limit);
  // documents are then empty.
  bool failed = false;
  std::string error;  // libyaml's problem and context, e.g. "did not find expected key ..."
  int error_line = 0;
  int error_column = 0;

  std::deque<YamlNode> nodes;
  std::vector<const YamlNode*> links;
};

// Parses every document of `text`. Collections nested deeper than `max_depth` stop the parse
// with an error, so no later walk recurses without bound.
void ParseYamlStream(std::string_view text, int max_depth, YamlStream* out);

}  // namespace nic::config_internal
