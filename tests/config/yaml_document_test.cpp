// The libyaml-backed document model (src/config/yaml_document.h): node kinds, plain vs quoted
// scalars, marks in bytes, aliases, errors and the parse depth limit.
#include <string>

#include <gtest/gtest.h>

#include "nic/config.h"
#include "src/config/yaml_document.h"
#include "src/config/yaml_util.h"
#include "tests/config/config_test_util.h"

namespace nic::config_internal {
namespace {

YamlStream Load(const std::string& text, int max_depth = 500) {
  YamlStream s;
  ParseYamlStream(text, max_depth, &s);
  return s;
}

TEST(YamlDocument, KindsStylesAndOrder) {
  auto s = Load("b: 1\na: '1'\nc: ~\nd:\ne: [x, {k: v}]\nf: !!str 5\ng: null\nh: 'null'\ni: |\n  text\n");
  ASSERT_FALSE(s.failed) << s.error;
  ASSERT_EQ(s.documents.size(), 1u);
  const YamlNode& root = *s.documents[0];
  ASSERT_TRUE(root.IsMap());
  ASSERT_EQ(root.size(), 9u);
  EXPECT_EQ(root.key(0).scalar(), "b");  // file order, not sorted
  EXPECT_EQ(root.key(1).scalar(), "a");
  EXPECT_EQ(KindOf(root.value(0)), Kind::kInt);
  EXPECT_EQ(KindOf(root.value(1)), Kind::kString);  // quoted: never typed
  EXPECT_EQ(KindOf(root.value(2)), Kind::kNull);
  EXPECT_EQ(KindOf(root.value(3)), Kind::kNull);  // empty value
  ASSERT_TRUE(root.value(4).IsSequence());
  EXPECT_EQ(root.value(4).size(), 2u);
  EXPECT_EQ(root.value(4).item(1).Find("k")->scalar(), "v");
  EXPECT_EQ(KindOf(root.value(5)), Kind::kString);  // explicitly tagged
  EXPECT_EQ(KindOf(root.value(6)), Kind::kNull);
  EXPECT_EQ(KindOf(root.value(7)), Kind::kString);
  EXPECT_EQ(root.value(8).scalar(), "text\n");
  EXPECT_EQ(KindOf(root.value(8)), Kind::kString);
  EXPECT_EQ(root.Find("missing"), nullptr);
}

TEST(YamlDocument, MarksAreOneBasedLinesAndByteColumns) {
  auto s = Load("a: x\nné: [é, y]\n");
  ASSERT_FALSE(s.failed) << s.error;
  const YamlNode& root = *s.documents[0];
  EXPECT_EQ(root.value(0).line(), 1);
  EXPECT_EQ(root.value(0).column(), 4);
  const YamlNode& seq = root.value(1);
  EXPECT_EQ(seq.line(), 2);
  EXPECT_EQ(seq.column(), 6);  // "né: " is 5 bytes (4 characters)
  EXPECT_EQ(seq.item(1).column(), 11);
  // An empty value is located on its key's line.
  auto e = Load("a:\nb: 1\n");
  EXPECT_EQ(e.documents[0]->value(0).line(), 1);
}

TEST(YamlDocument, AliasesShareTheAnchoredNode) {
  auto s = Load("a: &x {k: v}\nb: *x\n");
  ASSERT_FALSE(s.failed) << s.error;
  const YamlNode& root = *s.documents[0];
  EXPECT_EQ(&root.value(0), &root.value(1));
  auto undefined = Load("a: *nope\n");
  EXPECT_TRUE(undefined.failed);
  EXPECT_NE(undefined.error.find("*nope"), std::string::npos) << undefined.error;
  EXPECT_EQ(undefined.error_line, 1);
}

TEST(YamlDocument, DocumentsErrorsAndDepth) {
  EXPECT_EQ(Load("a: 1\n---\nb: 2\n").documents.size(), 2u);
  EXPECT_EQ(Load("").documents.size(), 0u);
  EXPECT_EQ(Load("# comment only\n").documents.size(), 0u);
  auto bad = Load("a: [1, 2\nb: 3\n");
  EXPECT_TRUE(bad.failed);
  EXPECT_TRUE(bad.documents.empty());
  EXPECT_GT(bad.error_line, 0);
  auto comma = Load(",");
  EXPECT_TRUE(comma.failed);
  auto deep = Load(std::string(20, '[') + std::string(20, ']'), 10);
  EXPECT_TRUE(deep.failed);
  EXPECT_NE(deep.error.find("nested more than 10"), std::string::npos) << deep.error;
  EXPECT_FALSE(Load(std::string(10, '[') + std::string(10, ']'), 10).failed);
}

TEST(YamlDocument, ParserLocatesEmptyValuesOnTheKeyLine) {
  // yaml-cpp placed an empty value at the next token (often the next line); libyaml, and so
  // NIC's messages, point at the key's own line.
  auto r = testing::Parse("project_name:\nprovider: local\n");
  ASSERT_FALSE(r.ok());
  ASSERT_NE(testing::FindError(r, "project_name"), nullptr) << testing::DumpDiagnostics(r);
  EXPECT_EQ(testing::FindError(r, "project_name")->line, 1);
}

TEST(YamlDocument, MalformedYamlThatPyYamlRefusesIsRefused) {
  // yaml-cpp accepted an unterminated quoted scalar and a key-less `: 1`; libyaml (and so
  // PyYAML/ruamel, which Nebari reads the file with) refuse both.
  for (const char* text : {"project_name: 'demo\n", ": 1\n"}) {
    auto r = testing::Parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.errors[0].message.find("not valid YAML"), std::string::npos) << testing::DumpDiagnostics(r);
    EXPECT_GT(r.errors[0].line, 0);
  }
}

}  // namespace
}  // namespace nic::config_internal
