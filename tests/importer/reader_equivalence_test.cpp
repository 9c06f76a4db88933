// The simdjson tfstate reader against the reference reader (nlohmann SAX, selected with
// NIC_TFSTATE_READER=sax): on every real tfstate in ../shared/testdata/tfstates-real and every
// fixture, including the malformed ones, both must hand the visitor the same resources (with
// the same JSON value types, not only the same text), fill the same header and fail with the
// same message; and a whole import must produce the same document and report.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "importers/terraform/tfstate_scan.h"
#include "nic/importer.h"
#include "tests/importer/test_util.h"

namespace nic {
namespace {

using nlohmann::json;
using testing_importer::Fixture;
using testing_importer::FixtureDir;
using testing_importer::ReadAll;
using testing_importer::SharedDir;

// dump() prints 1 for both a signed and an unsigned integer; this spells the type out.
void Typed(const json& j, std::string* out) {
  switch (j.type()) {
    case json::value_t::object:
      *out += '{';
      for (auto it = j.begin(); it != j.end(); ++it) {
        *out += json(it.key()).dump() + ':';
        Typed(it.value(), out);
        *out += ',';
      }
      *out += '}';
      return;
    case json::value_t::array:
      *out += '[';
      for (const auto& e : j) {
        Typed(e, out);
        *out += ',';
      }
      *out += ']';
      return;
    case json::value_t::number_integer: *out += "i" + j.dump(); return;
    case json::value_t::number_unsigned: *out += "u" + j.dump(); return;
    case json::value_t::number_float: *out += "f" + j.dump(); return;
    default: *out += j.dump(); return;
  }
}

class ReaderEnv {
 public:
  explicit ReaderEnv(bool sax) {
    if (sax) {
      setenv("NIC_TFSTATE_READER", "sax", 1);
    } else {
      unsetenv("NIC_TFSTATE_READER");
    }
  }
  explicit ReaderEnv(const char* reader) { setenv("NIC_TFSTATE_READER", reader, 1); }
  ~ReaderEnv() { unsetenv("NIC_TFSTATE_READER"); }
};

// Everything the visitor and the header receive, and the final status, as text.
std::string Describe(std::string_view bytes, const std::string& source, bool sax, size_t capacity = 0,
                     const TfstateReadOptions& options = {}) {
  ReaderEnv env(sax);
  TfstateHeader header;
  std::string out;
  Status st = StreamTfstate(bytes, capacity, source, &header, options, [&](TerraformResource&& r) {
    out += r.json_path + " " + r.module + "|" + r.mode + "|" + r.type + "|" + r.name + "|" + r.provider + "|" +
           r.each + "\n";
    for (const auto& i : r.instances) {
      out += "  ";
      Typed(i.index_key, &out);
      out += "|" + i.status + "|" + i.deposed + "|" + std::to_string(i.schema_version) + "|";
      Typed(i.attributes, &out);
      for (const auto& p : i.sensitive_paths) Typed(p, &out);
      for (const auto& d : i.dependencies) out += "|" + d;
      out += "\n";
    }
    return Status::OK();
  });
  out += "header " + std::to_string(header.version) + "|" + header.terraform_version + "|" +
         std::to_string(header.serial) + "|" + header.lineage + "\n";
  for (const auto& [name, o] : header.outputs) {
    out += "output " + name + (o.sensitive ? " sensitive " : " ");
    Typed(o.value, &out);
    out += "\n";
  }
  out += "status " + st.ToString() + "\n";
  return out;
}

std::vector<std::string> AllInputs() {
  std::vector<std::string> files;
  for (const auto& dir : {SharedDir() + "/testdata/tfstates-real", FixtureDir()}) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::string p = e.path().string();
      if (p.ends_with(".json") || p.ends_with(".tfstate")) files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(TfstateReaders, SameResultOnEveryRealStateAndFixture) {
  std::vector<std::string> files = AllInputs();
  ASSERT_GE(files.size(), 30u) << "expected the 14 real states and the fixtures";
  size_t failing = 0;
  for (const auto& path : files) {
    std::string bytes = ReadAll(path);
    std::string ref = Describe(bytes, path, /*sax=*/true);
    EXPECT_EQ(Describe(bytes, path, /*sax=*/false), ref) << path;
    // Read in place, as from Env::ReadFile: same result.
    std::string padded = bytes;
    padded.reserve(bytes.size() + 64);
    EXPECT_EQ(Describe(padded, path, false, padded.capacity()), ref) << path;
    bool ok = ref.find("\nstatus OK\n") != std::string::npos;
    failing += !ok;
    if (ok) {  // the comparison above really compared the simdjson reader: it needed no help
      ReaderEnv only("simdjson");
      EXPECT_TRUE(StreamTfstate(bytes, path, nullptr, [](TerraformResource&&) { return Status::OK(); }).ok()) << path;
    }
  }
  EXPECT_GE(failing, 9u) << "the malformed fixtures must fail (in both readers)";
}

TEST(TfstateReaders, SameResultOnEdgeCases) {
  const std::vector<std::string> cases = {
      // number types: unsigned, signed, -0, doubles, exponents
      R"({"version": 4, "serial": 7, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [
          {"attributes": {"a": 1, "b": -1, "c": -0, "d": 1.0, "e": 1e3, "f": -2.5E-3, "g": 18446744073709551615,
                          "h": "esc\"aped\u00e9\n", "i\"k": null, "j": [true, false, {}], "dup": 1, "dup": 2}}]}]})",
      // version after the resources, check_results kept aside, outputs
      R"({"resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [{"attributes": {"id": "x"}}]}],
          "check_results": [{"x": [1, 2]}], "version": 4, "lineage": null,
          "outputs": {"o": {"value": {"k": [1]}, "sensitive": true}, "p": {"value": "v"}}})",
      // an integer outside 64 bits, an error after a good resource, bad literals, trailing bytes
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [{"attributes": {"a": 123456789012345678901234}}]}]})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "a", "instances": []},
                                     {"mode": "managed", "type": "t", "name": "b", "instances": [{"index_key": true}]}]})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "a", "instances": []}], "x": tru})",
      R"({"version": 4, "resources": []} {})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "a", "instances": []},
                                     {"mode": "managed", "type": "t", "name": "a", "instances": []}]})",
      R"({"version": 3, "modules": [{"path": ["root"], "resources": {"aws_vpc.main": {"type": "aws_vpc",
          "primary": {"id": "vpc-1", "attributes": {"id": "vpc-1", "tags.%": "1", "tags.Name": "x"}}}}}]})",
      "{\"version\": 4, \"resources\": [{\"mode\": \"managed\", \"type\": \"t\", \"name\": \"\xff\", \"instances\": []}]}",
      // dependencies: read apart from the DOM in the fast reader
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [
          {"dependencies": ["a.b", "c\u0064.e"], "attributes": {}}, {"dependencies": null}, {"dependencies": ["x"], "dependencies": null},
          {"dependencies": null, "dependencies": ["y"]}, 7], "instances": [{"dependencies": ["z"]}]}]})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [{"dependencies": ["a", 1]}]}]})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [{"dependencies": {}}]}]})",
      R"({"version": 4.0})",
      R"({"version": 2})",
      "",
      // the element scan (tfstate_scan.h): brackets and escapes inside strings, an escaped
      // top-level key, two arrays, null and empty arrays, brackets that do not pair up, a
      // non-object element, bytes after an element
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [{"attributes":
          {"a": "]}[{ \"quoted\" ]]]]]]]]]]]]]]]]]] {{{{{{{{{{{{{{{{", "b": "ends in a backslash \\", "c": "\\\"]"}}]},
          {"mode": "managed", "type": "t", "name": "m", "instances": []} ], "check_results": null})",
      R"({"version": 4, "res\u006furces": [{"mode": "managed", "type": "t", "name": "n", "instances": []}]})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "a", "instances": []}],
          "resources": [{"mode": "managed", "type": "t", "name": "b", "instances": []}]})",
      R"({"version": 4, "resources": null})",
      R"({"version": 4, "resources": [ ]})",
      R"({"version": 4, "resources": {}})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [}]]})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": []}, 3]})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": []} x]})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": []},]})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": []})",
      R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [], "x": "unterminated)",
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Describe(c, "inline.tfstate", false), Describe(c, "inline.tfstate", true)) << c;
  }
}

// Clean documents that need the element scan's string handling are read by the simdjson reader
// alone (NIC_TFSTATE_READER=simdjson fails where it would hand over), one element at a time.
TEST(TfstateReaders, ScannedDocumentsNeedNoHandOver) {
  std::string text = R"({"version": 4, "resources": [
      {"mode": "managed", "type": "t", "name": "a", "instances": [{"attributes": {"s": "[[{\"\\", "t": "}}]]\\"}}]},
      {"mode": "managed", "type": "t", "name": "b", "instances": [{"attributes": {"u": "0123456789abcdef\"0123456789abcdef"}}]}
    ], "outputs": {"o": {"value": "]"}}})";
  tfimport::TfstateScan scan;
  ASSERT_EQ(tfimport::ScanTfstate(text, &scan), tfimport::ScanResult::kOk);
  ASSERT_EQ(scan.arrays.size(), 1u);
  ASSERT_EQ(scan.arrays[0].elements.size(), 2u);
  EXPECT_EQ(scan.max_depth, 6);
  EXPECT_EQ(text[scan.arrays[0].elements[0].first], '{');
  EXPECT_EQ(text[scan.arrays[0].elements[1].second - 1], '}');
  std::string fast;
  {
    ReaderEnv env("simdjson");
    TfstateHeader header;
    Status st = StreamTfstate(text, "inline.tfstate", &header, [&](TerraformResource&& r) {
      fast += r.name + r.instances.at(0).attributes.dump();
      return Status::OK();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(header.outputs.at("o").value, "]");
  }
  EXPECT_EQ(fast, R"(a{"s":"[[{\"\\","t":"}}]]\\"}b{"u":"0123456789abcdef\"0123456789abcdef"})");
}

// Without dependencies (what the import asks for) both readers still check them and give the
// same resources, with empty dependency lists.
TEST(TfstateReaders, DependenciesLeftOutAreStillChecked) {
  const std::string head = R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [)";
  const std::vector<std::pair<std::string, bool>> cases = {
      {R"({"attributes": {"id": "x"}, "dependencies": ["a.b", "c\u0064.e", "f\"g"]}]}]})", true},
      {R"({"dependencies": null}, {"index_key": 1, "dependencies": ["x"], "dependencies": null}]}]})", true},
      {R"({"dependencies": ["a", 1]}]}]})", false},
      {R"({"dependencies": ["bad \q escape"]}]}]})", false},
      {R"({"dependencies": {}}]}]})", false},
  };
  TfstateReadOptions without;
  without.dependencies = false;
  for (const auto& [tail, ok] : cases) {
    std::string text = head + tail;
    std::string results[2];
    for (int sax = 0; sax < 2; ++sax) {
      ReaderEnv env(sax == 1);
      TfstateHeader header;
      Status st = StreamTfstate(text, 0, "inline.tfstate", &header, without, [&](TerraformResource&& r) {
        for (const auto& i : r.instances) {
          EXPECT_TRUE(i.dependencies.empty());
          results[sax] += i.attributes.dump() + i.index_key.dump() + ";";
        }
        return Status::OK();
      });
      EXPECT_EQ(st.ok(), ok) << text << " " << st.ToString();
      results[sax] += st.ToString();
    }
    EXPECT_EQ(results[0], results[1]) << text;
  }
}

// With `reread` the reader discards the pages it has consumed (what the import does with every
// tfstate); it reads the same as without, also when a late error sends it back to the reference
// reader, which then asks for the bytes again.
TEST(TfstateReaders, DiscardingConsumedBytes) {
  for (bool broken : {false, true}) {
    std::string text = R"({"version": 4, "serial": 3, "outputs": {"o": {"value": 1}}, "resources": [)";
    for (int i = 0; i < 6000; ++i) {  // about 3 MB: several 1 MiB releases
      text += fmt::format(R"({}{{"mode": "managed", "type": "aws_subnet", "name": "s{}", "instances": [{{"attributes":
          {{"id": "subnet-{}", "tags": {{"Name": "{}"}}}}, "dependencies": ["{}"]}}]}})",
                          i == 0 ? "" : ",\n", i, i, std::string(300, 'x'), std::string(100, 'd'));
    }
    text += broken ? R"(, {"mode": "managed", "type": "t", "name": "late", "instances": [{"status": "gone"}]}]})" : "]}";
    std::string expected = Describe(text, "m.tfstate", true);
    int rereads = 0;
    TfstateReadOptions discard;
    discard.reread = [&]() -> Result<std::string> {
      ++rereads;
      return text;
    };
    std::string consumed = text;
    consumed.reserve(text.size() + 64);
    std::string got = Describe(consumed, "m.tfstate", false, consumed.capacity(), discard);
    EXPECT_EQ(got, expected);
    EXPECT_EQ(got.find("status OK") != std::string::npos, !broken) << got.substr(got.size() - 300);
    EXPECT_EQ(rereads, broken ? 1 : 0);
    // The first pages really were discarded (they read as zeros now).
    EXPECT_EQ(consumed.substr(8192, 4096), std::string(4096, '\0'));
  }
}

// After a clean first resource the fast reader hands over to the reference reader, which must
// not give the visitor that resource a second time.
TEST(TfstateReaders, HandOverDeliversEachResourceOnce) {
  std::string text = R"({"version": 4, "resources": [
      {"mode": "managed", "type": "t", "name": "a", "instances": []},
      {"mode": "managed", "type": "t", "name": "b", "instances": [{"status": "gone"}]}]})";
  std::vector<std::string> seen;
  Status st = StreamTfstate(text, "inline.tfstate", nullptr, [&](TerraformResource&& r) {
    seen.push_back(r.name);
    return Status::OK();
  });
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("$.resources[1].instances[0].status"), std::string::npos) << st.ToString();
  EXPECT_EQ(seen, std::vector<std::string>{"a"});
}

TEST(TfstateReaders, VisitorErrorIsReturnedAsItIs) {
  std::string text = R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "a", "instances": []}]})";
  int calls = 0;
  Status st = StreamTfstate(text, "inline.tfstate", nullptr, [&](TerraformResource&&) {
    ++calls;
    return Status::Refused("stop here");
  });
  EXPECT_EQ(st.code(), ErrorCode::kRefused);
  EXPECT_EQ(calls, 1);
}

TEST(TfstateReaders, WholeImportIsIdentical) {
  for (const auto& path : AllInputs()) {
    if (path.find("malformed") != std::string::npos) continue;
    std::string results[2];
    for (int sax = 0; sax < 2; ++sax) {
      ReaderEnv env(sax == 1);
      ImportOptions opts;
      opts.provider = "aws";
      opts.project_name = "real";
      opts.configuration_hash = "sha256:test";
      auto r = BuildImport({{path, ""}}, opts);
      if (!r.ok()) {
        results[sax] = r.status().ToString();
        continue;
      }
      json report = json::array();
      for (const auto& i : r->report.imported) report.push_back({i.terraform_address, i.provider_id, i.nic_addresses});
      for (const auto& u : r->report.unmanaged) report.push_back({u.address, u.id, u.reason});
      for (const auto& d : r->report.dropped) report.push_back({d.terraform_address, d.path});
      for (const auto& w : r->report.warnings) report.push_back(w);
      std::string& out = results[sax];
      Typed(r->state.cloud, &out);
      Typed(r->state.kubernetes, &out);
      Typed(r->state.unmanaged, &out);
      Typed(r->outputs, &out);
      out += report.dump();
    }
    EXPECT_EQ(results[0], results[1]) << path;
  }
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

// Damaged copies of every real tfstate and fixture (bytes replaced by JSON punctuation, inserted,
// deleted, the file cut short; a fixed seed): both readers agree on each. simdjson's on-demand
// parser alone accepted some structural damage (an array holding "k": v pairs) that the
// reference reader refuses; the element scan now sends such documents to the reference reader.
TEST(TfstateReaders, DamagedDocumentsAgree) {
  std::mt19937 rng(12345);
  const char pool[] = "{}[]\",:\\ \n0a-.eu";
  size_t runs = 0;
  for (const auto& path : AllInputs()) {
    std::string base = ReadAll(path);
    if (base.size() > 200000) continue;
    for (int k = 0; k < 60; ++k) {
      std::string m = base;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !m.empty(); ++e) {
        size_t pos = rng() % m.size();
        switch (rng() % 4) {
          case 0: m[pos] = pool[rng() % (sizeof(pool) - 1)]; break;
          case 1: m.insert(pos, 1, pool[rng() % (sizeof(pool) - 1)]); break;
          case 2: m.erase(pos, 1 + rng() % 8); break;
          default: m.resize(pos); break;
        }
      }
      ++runs;
      ASSERT_EQ(Describe(m, "x.tfstate", false), Describe(m, "x.tfstate", true)) << path << " mutation " << k;
    }
  }
  EXPECT_GT(runs, 1000u);
}

}  // namespace
}  // namespace nic
