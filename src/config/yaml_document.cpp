#include "src/config/yaml_document.h"

#include <yaml.h>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>

namespace nic::config_internal {

const YamlNode* YamlNode::Find(std::string_view k) const {
  if (type_ != Type::kMap) return nullptr;
  for (size_t i = 0; i < count_; ++i) {
    const YamlNode& key = *links_[2 * i];
    if (key.IsScalar() && key.text_ == k) return links_[2 * i + 1];
  }
  return nullptr;
}

namespace {

// libyaml counts columns (and mark.index) in characters; diagnostics elsewhere in NIC (and
// yaml-cpp before) count bytes. For ASCII text both agree; otherwise a checkpoint every 64
// characters makes the conversion O(1) per mark whatever the line length.
class ByteColumns {
 public:
  explicit ByteColumns(std::string_view text) {
    if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // BOM
    text_ = text;
    for (unsigned char c : text) {
      if (c >= 0x80) {
        ascii_ = false;
        break;
      }
    }
    if (ascii_) return;
    size_t chars = 0;
    for (size_t b = 0; b < text.size(); b += Width(b)) {
      if (chars++ % kStride == 0) checkpoints_.push_back(b);
    }
  }

  int Column(const yaml_mark_t& m) const {
    if (ascii_) return static_cast<int>(m.column);
    return static_cast<int>(ByteOf(m.index) - ByteOf(m.index - m.column));
  }

 private:
  static constexpr size_t kStride = 64;
  size_t Width(size_t b) const {
    unsigned char c = static_cast<unsigned char>(text_[b]);
    size_t w = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return std::min(w, text_.size() - b);
  }
  size_t ByteOf(size_t char_index) const {
    size_t cp = char_index / kStride;
    if (cp >= checkpoints_.size()) return text_.size();
    size_t b = checkpoints_[cp];
    for (size_t n = char_index % kStride; n > 0 && b < text_.size(); --n) b += Width(b);
    return b;
  }

  std::string_view text_;
  bool ascii_ = true;
  std::vector<size_t> checkpoints_;
};

std::string_view Chars(const yaml_char_t* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

}  // namespace

// Turns events into nodes. Collections collect their children on one scratch stack and copy
// them to the stream's link array when they end, so a node costs no allocation of its own
// beyond its text.
class YamlStreamBuilder {
 public:
  YamlStreamBuilder(std::string_view text, int max_depth, YamlStream* out)
      : columns_(text), max_depth_(max_depth), out_(out) {}

  void Run(std::string_view text) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
      Fail("out of memory", {});
      return;
    }
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    bool done = false;
    while (!done && !out_->failed) {
      yaml_event_t ev;
      if (!yaml_parser_parse(&parser, &ev)) {
        ParserFailed(parser, text);
        break;
      }
      done = ev.type == YAML_STREAM_END_EVENT;
      Handle(ev);
      yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (out_->failed) {
      out_->documents.clear();
      return;
    }
    for (auto& [node, offset] : fixups_) node->links_ = out_->links.data() + offset;
  }

 private:
  struct Frame {
    YamlNode* node;
    size_t first_child;  // index into scratch_
  };

  YamlNode* NewNode(YamlNode::Type type, const yaml_mark_t& mark) {
    YamlNode& n = out_->nodes.emplace_back();
    n.type_ = type;
    n.line_ = static_cast<int>(mark.line) + 1;
    n.column_ = columns_.Column(mark) + 1;
    return &n;
  }

  void Add(const YamlNode* n) {
    if (stack_.empty()) {
      out_->documents.push_back(n);
    } else {
      scratch_.push_back(n);
    }
  }

  void Anchor(const yaml_char_t* anchor, const YamlNode* n) {
    if (anchor != nullptr) anchors_[std::string(Chars(anchor))] = n;
  }

  void Handle(const yaml_event_t& ev) {
    switch (ev.type) {
      case YAML_DOCUMENT_START_EVENT:
        anchors_.clear();  // anchors are local to their document
        break;
      case YAML_SCALAR_EVENT: {
        const auto& s = ev.data.scalar;
        std::string_view text(reinterpret_cast<const char*>(s.value), s.length);
        bool plain = s.style == YAML_PLAIN_SCALAR_STYLE && s.tag == nullptr;
        bool null = plain && (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL");
        YamlNode* n = NewNode(null ? YamlNode::Type::kNull : YamlNode::Type::kScalar, ev.start_mark);
        if (!null) {
          n->plain_ = plain;
          n->text_.assign(text);
        }
        Anchor(s.anchor, n);
        Add(n);
        break;
      }
      case YAML_ALIAS_EVENT: {
        auto it = anchors_.find(std::string(Chars(ev.data.alias.anchor)));
        if (it == anchors_.end()) {
          Fail("the alias *" + std::string(Chars(ev.data.alias.anchor)) + " refers to no anchor", ev.start_mark);
          return;
        }
        Add(it->second);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (static_cast<int>(stack_.size()) >= max_depth_) {
          Fail("collections are nested more than " + std::to_string(max_depth_) +
                   " levels deep (the document is nested too deeply)",
               ev.start_mark);
          return;
        }
        bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
        YamlNode* n = NewNode(seq ? YamlNode::Type::kSeq : YamlNode::Type::kMap, ev.start_mark);
        n->flow_ = seq ? ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE
                       : ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
        // Registered before its children, so `&a [*a]` is a cycle, as in yaml-cpp and PyYAML;
        // the depth limit of every walk stops it.
        Anchor(seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor, n);
        stack_.push_back({n, scratch_.size()});
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Frame f = stack_.back();
        stack_.pop_back();
        size_t count = scratch_.size() - f.first_child;
        fixups_.emplace_back(f.node, out_->links.size());
        out_->links.insert(out_->links.end(), scratch_.begin() + static_cast<std::ptrdiff_t>(f.first_child),
                           scratch_.end());
        scratch_.resize(f.first_child);
        f.node->count_ = static_cast<uint32_t>(f.node->IsMap() ? count / 2 : count);
        Add(f.node);
        break;
      }
      default:
        break;
    }
  }

  void Fail(const std::string& message, const yaml_mark_t& mark) {
    out_->failed = true;
    out_->error = message;
    out_->error_line = static_cast<int>(mark.line) + 1;
    out_->error_column = columns_.Column(mark) + 1;
  }

  void ParserFailed(const yaml_parser_t& p, std::string_view text) {
    std::string msg = p.problem != nullptr ? p.problem : "unknown error";
    if (p.error == YAML_READER_ERROR) {
      // Reader errors carry a byte offset instead of a mark.
      yaml_mark_t m{};
      size_t end = std::min(p.problem_offset, text.size());
      size_t line_start = 0;
      for (size_t i = 0; i < end; ++i) {
        if (text[i] == '\n') {
          ++m.line;
          line_start = i + 1;
        }
      }
      out_->failed = true;
      out_->error = msg;
      out_->error_line = static_cast<int>(m.line) + 1;
      out_->error_column = static_cast<int>(end - line_start) + 1;
      return;
    }
    if (p.context != nullptr) {
      msg += " (" + std::string(p.context) + " at line " + std::to_string(p.context_mark.line + 1) + ")";
    }
    Fail(msg, p.problem_mark);
  }

  ByteColumns columns_;
  int max_depth_;
  YamlStream* out_;
  std::vector<Frame> stack_;
  std::vector<const YamlNode*> scratch_;
  std::vector<std::pair<YamlNode*, size_t>> fixups_;
  std::unordered_map<std::string, const YamlNode*> anchors_;
};

void ParseYamlStream(std::string_view text, int max_depth, YamlStream* out) {
  YamlStreamBuilder b(text, max_depth, out);
  b.Run(text);
}

}  // namespace nic::config_internal
