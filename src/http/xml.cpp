#include "nic/xml.h"

#include <cctype>

namespace nic::xml {
namespace {

constexpr int kMaxDepth = 256;

std::string_view LocalName(std::string_view qname) {
  size_t colon = qname.find(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<Node> Document() {
    // Prolog: BOM, declaration, comments, PIs, DOCTYPE.
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    for (;;) {
      SkipSpace();
      if (Starts("<?")) {
        if (!SkipPast("?>")) return Error("unterminated processing instruction");
      } else if (Starts("<!--")) {
        if (!SkipPast("-->")) return Error("unterminated comment");
      } else if (Starts("<!DOCTYPE") || Starts("<!doctype")) {
        if (!SkipDoctype()) return Error("unterminated DOCTYPE");
      } else {
        break;
      }
    }
    if (!Starts("<")) return Error("no root element");
    Node root;
    Status st = Element(root, 0);
    if (!st.ok()) return st;
    return root;
  }

 private:
  Status Element(Node& node, int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    ++pos_;  // '<'
    std::string_view qname = Name();
    if (qname.empty()) return Error("missing element name");
    node.name = std::string(LocalName(qname));
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size()) return Error("unterminated start tag <" + node.name + ">");
      if (Starts("/>")) {
        pos_ += 2;
        return Status::OK();
      }
      if (s_[pos_] == '>') {
        ++pos_;
        break;
      }
      std::string_view an = Name();
      if (an.empty()) return Error("bad attribute in <" + node.name + ">");
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '=') return Error("attribute without value in <" + node.name + ">");
      ++pos_;
      SkipSpace();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) return Error("unquoted attribute");
      char quote = s_[pos_++];
      size_t end = s_.find(quote, pos_);
      if (end == std::string_view::npos) return Error("unterminated attribute");
      std::string value;
      NIC_RETURN_IF_ERROR(Decode(s_.substr(pos_, end - pos_), value));
      node.attributes[std::string(an)] = std::move(value);
      pos_ = end + 1;
    }
    // Content.
    for (;;) {
      if (pos_ >= s_.size()) return Error("unterminated element <" + node.name + ">");
      if (Starts("</")) {
        pos_ += 2;
        std::string_view close = Name();
        if (LocalName(close) != node.name) {
          return Error("mismatched closing tag </" + std::string(close) + "> for <" + node.name + ">");
        }
        SkipSpace();
        if (pos_ >= s_.size() || s_[pos_] != '>') return Error("bad closing tag");
        ++pos_;
        return Status::OK();
      }
      if (Starts("<!--")) {
        if (!SkipPast("-->")) return Error("unterminated comment");
      } else if (Starts("<![CDATA[")) {
        size_t end = s_.find("]]>", pos_ + 9);
        if (end == std::string_view::npos) return Error("unterminated CDATA");
        node.text.append(s_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
      } else if (Starts("<?")) {
        if (!SkipPast("?>")) return Error("unterminated processing instruction");
      } else if (s_[pos_] == '<') {
        node.children.emplace_back();
        NIC_RETURN_IF_ERROR(Element(node.children.back(), depth + 1));
      } else {
        size_t end = s_.find('<', pos_);
        if (end == std::string_view::npos) end = s_.size();
        NIC_RETURN_IF_ERROR(Decode(s_.substr(pos_, end - pos_), node.text));
        pos_ = end;
      }
    }
  }

  Status Decode(std::string_view in, std::string& out) {
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] != '&') {
        // Copy the run up to the next entity at once.
        size_t amp = in.find('&', i);
        if (amp == std::string_view::npos) amp = in.size();
        out.append(in.substr(i, amp - i));
        i = amp - 1;
        continue;
      }
      size_t semi = in.find(';', i);
      if (semi == std::string_view::npos) return Error("unterminated entity");
      std::string_view ent = in.substr(i + 1, semi - i - 1);
      if (ent == "lt") out += '<';
      else if (ent == "gt") out += '>';
      else if (ent == "amp") out += '&';
      else if (ent == "quot") out += '"';
      else if (ent == "apos") out += '\'';
      else if (!ent.empty() && ent[0] == '#') {
        bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
        std::string_view digits = ent.substr(hex ? 2 : 1);
        if (digits.empty() || digits.size() > 8) return Error("bad character reference");
        uint32_t cp = 0;
        for (char c : digits) {
          int v;
          if (c >= '0' && c <= '9') v = c - '0';
          else if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
          else if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
          else return Error("bad character reference");
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        }
        if (cp > 0x10FFFF) return Error("bad character reference");
        AppendUtf8(out, cp);
      } else {
        return Error("unknown entity &" + std::string(ent) + ";");
      }
      i = semi;
    }
    return Status::OK();
  }

  std::string_view Name() {
    size_t start = pos_;
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (std::isalnum(c) || c == '_' || c == ':' || c == '-' || c == '.' || c >= 0x80) {
        ++pos_;
      } else {
        break;
      }
    }
    return s_.substr(start, pos_ - start);
  }

  bool SkipDoctype() {
    // DOCTYPE may hold an internal subset in [...]; entities declared there are not expanded.
    int bracket = 0;
    for (; pos_ < s_.size(); ++pos_) {
      if (s_[pos_] == '[') ++bracket;
      else if (s_[pos_] == ']') --bracket;
      else if (s_[pos_] == '>' && bracket <= 0) {
        ++pos_;
        return true;
      }
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Starts(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }
  bool SkipPast(std::string_view end) {
    size_t e = s_.find(end, pos_);
    if (e == std::string_view::npos) return false;
    pos_ = e + end.size();
    return true;
  }
  Status Error(const std::string& what) const {
    return Status::InvalidInput("malformed XML at byte " + std::to_string(pos_) + ": " + what);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

const Node* Node::Child(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

std::vector<const Node*> Node::Children(std::string_view n) const {
  std::vector<const Node*> out;
  for (const auto& c : children) {
    if (c.name == n) out.push_back(&c);
  }
  return out;
}

const Node* Node::Find(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
    if (const Node* d = c.Find(n)) return d;
  }
  return nullptr;
}

std::string Node::ChildText(std::string_view n) const {
  const Node* c = Child(n);
  return c != nullptr ? c->text : std::string();
}

std::string Node::PathText(std::string_view path) const {
  const Node* cur = this;
  while (!path.empty()) {
    size_t slash = path.find('/');
    cur = cur->Child(path.substr(0, slash));
    if (cur == nullptr) return "";
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return cur->text;
}

Result<Node> Parse(std::string_view document) { return Parser(document).Document(); }

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace nic::xml
