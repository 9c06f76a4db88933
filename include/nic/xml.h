// A small XML reader for cloud API responses (S3, EC2, IAM, STS, Azure error bodies).
//
// Enough of XML 1.0 for these documents: elements, attributes, text, CDATA, comments,
// processing instructions, DOCTYPE (skipped) and the predefined and numeric entities.
// Namespace prefixes are dropped from names: <ec2:Code> is found as "Code".
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nic/status.h"

namespace nic::xml {

struct Node {
  std::string name;  // local name
  std::map<std::string, std::string> attributes;
  std::string text;  // concatenated character data directly inside this element
  std::vector<Node> children;

  // The first direct child with this name, or nullptr.
  const Node* Child(std::string_view name) const;
  // Every direct child with this name.
  std::vector<const Node*> Children(std::string_view name) const;
  // The first descendant (depth-first, this node excluded) with this name, or nullptr.
  const Node* Find(std::string_view name) const;
  // Text of the first direct child with this name, or "".
  std::string ChildText(std::string_view name) const;
  // Text at a path of direct children, "Error/Code"; "" when any step is missing.
  std::string PathText(std::string_view path) const;
};

// Parses a document and returns its root element; kInvalidInput when malformed.
Result<Node> Parse(std::string_view document);

// Escapes &, <, >, " and ' for text and attribute values.
std::string Escape(std::string_view text);

}  // namespace nic::xml
