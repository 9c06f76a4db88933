// The hand-written matchers of src/config/formats.h against the regular expressions they
// replaced: explicit accept/reject cases for each (lengths, first/last characters, separators),
// then the same inputs plus generated ones checked against std::regex as the oracle.
#include <functional>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "src/config/formats.h"

namespace nic::config_internal {
namespace {

struct Format {
  const char* name;
  std::function<bool(std::string_view)> match;
  const char* regex;
  size_t max_len;  // the length limit the caller applied before the regex
  std::vector<std::string> accept;
  std::vector<std::string> reject;
  // Checks the caller made on the regex's groups after a match (the CIDR ranges).
  std::function<bool(const std::smatch&)> groups_ok = nullptr;
};

// The octet and prefix ranges the old IsCidrV4 checked on its match groups.
bool CidrRanges(const std::smatch& m) {
  for (int i = 1; i <= 4; ++i) {
    if (std::stoi(m[i].str()) > 255) return false;
  }
  return std::stoi(m[5].str()) <= 32;
}

bool TaintMatches(std::string_view s) { return SplitTaintString(s).has_value(); }

std::vector<Format> Formats() {
  return {
      {"core int", IsCoreInt, R"([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)", 40,
       {"0", "-5", "+7", "0o17", "0x1F", "0xff", "007", std::string(40, '9')},
       {"", "-", "+", "0o", "0x", "0o8", "0xg", "+0x1", "-0o7", "1.0", "1e3", " 1", "1 ", std::string(41, '9')}},
      {"core float", IsCoreFloat,
       R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))", 64,
       {"1.29", "1.", ".5", "-1.5e-3", "+2E10", "1e3", "7", ".inf", "-.Inf", "+.INF", ".nan", ".NaN"},
       {"", ".", "e3", "1e", "1e+", "1.2.3", "+.nan", ".iNf", "1_000", "0x1p3", std::string(65, '1')}},
      {"quoted int", IsQuotedDecimalInt, R"([-+]?[0-9]+)", 19,
       {"5", "-5", "+5", std::string(19, '1')},
       {"", "-", "5a", "0x5", std::string(20, '1')}},
      {"cidr", IsCidrV4, R"(([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2}))", 18,
       {"10.10.0.0/16", "0.0.0.0/0", "255.255.255.255/32", "010.001.0.0/8"},
       {"256.0.0.0/8", "10.0.0.0/33", "10.0.0/8", "10.0.0.0", "10.0.0.0/", "1000.0.0.0/8", "10.0.0.0/123",
        "10.0.0.0/16 ", " 10.0.0.0/16", "a.b.c.d/8", "10.0.0.0.0/8"},
       CidrRanges},
      {"project name", IsProjectName, R"([A-Za-z][A-Za-z0-9\-_]{1,14}[A-Za-z0-9])", 16,
       {"abc", "demo", "My-Project_1", "a" + std::string(15, 'b')},
       {"ab", "1abc", "abc-", "abc_", "a" + std::string(16, 'b'), "ab.c", "ab c"}},
      {"namespace", IsNamespaceName, R"([A-Za-z][A-Za-z\-_]*[A-Za-z])", 63,
       {"dev", "ab", "a-b_c", std::string(63, 'a')},
       {"a", "dev1", "-dev", "dev-", std::string(64, 'a'), ""}},
      {"nebari version", IsNebariVersion, R"([0-9]{4}\.[0-9]{1,2}\.[0-9]+([.+\-]?[0-9A-Za-z.+\-]*)?)", 64,
       {"2025.10.1", "2024.1.1rc1", "2024.3.3.dev23+g53d1", "2025.10.10-x", "2025.1.1."},
       {"25.10.1", "20250.1.1", "2025.100.1", "2025.10", "2025.10.", "2025.10.x", "2025.10.1 rc", "v2025.10.1"}},
      {"kubernetes version", IsKubernetesVersion, R"([0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.+-]+)?)", 64,
       {"1.29", "1.29.2", "1.18.16-gke.502", "1.29+x", "10.0.0-a.b"},
       {"1", "1.", "1.29.", "1.29.2.3", "1.29-", "1.29.-x", "v1.29", "1.29 ", "1.29_x"}},
      {"taint key", IsTaintKey,
       R"(([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)", 316,
       {"dedicated", "example.com/gpu", "a/b", "a-b.c-d/X_y.z", "A", "nvidia.com/gpu"},
       {"", "/gpu", "Example.com/gpu", "example.com/", "a//b", "a/b/c", "-a", "a-", "ex..com/gpu", "ex.-a/b",
        "a b", std::string(317, 'a')}},
      {"taint value", IsTaintValue, R"(([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?)", 63,
       {"", "nebari", "a.b-c_d", std::string(63, 'x')},
       {"-a", "a-", "a b", "a/b", std::string(64, 'x')}},
      {"taint string", TaintMatches, R"(([^=:\s]+)(=([^:\s]*))?:([A-Za-z]+))", 400,
       {"dedicated=nebari:NoSchedule", "key:NoExecute", "k=:X", "a=b=c:E", "é=ü:Zz"},
       {"", ":NoSchedule", "=v:NoSchedule", "k=v", "k=v:", "k=v:No1", "k v:E", "k=v v:E", "k:a:E", "k=v:E ",
        "k\t:E", std::string(401, 'k') + ":E"}},
      {"node group name", IsNodeGroupName, R"([A-Za-z0-9]([-A-Za-z0-9_]{0,61}[A-Za-z0-9])?)", 63,
       {"a", "ng000001", "general", "A-b_C", std::string(63, 'z')},
       {"", "-a", "a-", "a.b", "a b", std::string(64, 'z')}},
      {"aks pool name", IsAksNodePoolName, R"([a-z][a-z0-9]{0,11})", 12,
       {"a", "user1", "abcdefghijkl"},
       {"", "1a", "User", "user-1", "abcdefghijklm"}},
      {"aws region", IsAwsRegion, R"([a-z]{2}(-[a-z]+)+-[0-9]+)", 32,
       {"us-west-2", "us-gov-west-1", "ap-southeast-12"},
       {"us-2", "usa-west-2", "u-west-2", "us-west", "us--west-2", "us-west-2a", "US-west-2", "us-west-"}},
      {"gcp region", IsGcpRegion, R"([a-z]+-[a-z]+[0-9]+)", 32,
       {"us-central1", "europe-west4"},
       {"us-central", "us-central1-a", "uscentral1", "-central1", "us-1"}},
      {"gcp project", IsGcpProject, R"([a-z][-a-z0-9]{4,28}[a-z0-9])", 30,
       {"my-project-1", "abcdef", "a" + std::string(29, 'b')},
       {"abcde", "1abcdef", "abcdef-", "Abcdef", "a" + std::string(30, 'b')}},
      {"arn", IsAwsArn, R"(arn:aws[a-z-]*:[a-z0-9-]+:[^\s]*)", 256,
       {"arn:aws:kms:us-east-1:1:key/x", "arn:aws-us-gov:iam::1:policy/b", "arn:aws:s3:"},
       {"arn:aws", "arn:aws:", "arn:aws::x", "arn:aws:KMS:x", "arn:aws1:kms:x", "arn:aws:kms:x y", "ar:aws:kms:x"}},
      {"security group", IsSecurityGroupId, R"(sg-[0-9a-f]+)", 256,
       {"sg-0abc", "sg-1"},
       {"sg-", "sg-0ABC", "sg-xyz", "sg0abc", " sg-1"}},
      {"storage postfix", IsAzureStoragePostfix, R"([a-z0-9]{1,16})", 16,
       {"abcd", "0", std::string(16, 'a')},
       {"", "ABCD", "ab-c", std::string(17, 'a')}},
      {"resource group", IsAzureResourceGroupChars, R"([\w\-\.\(\)]+)", 90,
       {"rg", "my_rg-1.(x)", std::string(90, 'a')},
       {"", "a b", "a/b", "é", std::string(91, 'a')}},
      {"quantity", IsStorageQuantity, R"([0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)?)", 32,
       {"200Gi", "1.5Ti", "10", "10K", "3.0", "1.5"},
       {"", "Gi", "1.Gi", "1.", ".5", "10Pi", "10 Gi", "10gi", "1e3"}},
  };
}

bool Oracle(const Format& f, const std::regex& re, const std::string& s) {
  std::smatch m;
  if (s.size() > f.max_len || !std::regex_match(s, m, re)) return false;
  return f.groups_ok == nullptr || f.groups_ok(m);
}

TEST(ConfigFormats, AcceptAndRejectCases) {
  for (const auto& f : Formats()) {
    std::regex re(f.regex);
    for (const auto& s : f.accept) {
      EXPECT_TRUE(f.match(s)) << f.name << " should accept '" << s << "'";
      EXPECT_TRUE(Oracle(f, re, s)) << f.name << " case is wrong: the regex rejects '" << s << "'";
    }
    for (const auto& s : f.reject) {
      EXPECT_FALSE(f.match(s)) << f.name << " should reject '" << s << "'";
      EXPECT_FALSE(Oracle(f, re, s)) << f.name << " case is wrong: the regex accepts '" << s << "'";
    }
  }
}

TEST(ConfigFormats, AgreeWithTheRegexOnGeneratedStrings) {
  // Strings over each format's own alphabet plus separators, so most are near misses.
  std::mt19937 rng(9);
  const std::string alphabet = "aAzZ019.-_/:=+ \tgkxeEoinfINF()é";
  for (const auto& f : Formats()) {
    std::regex re(f.regex);
    std::vector<std::string> inputs = f.accept;
    for (int i = 0; i < 3000; ++i) {
      // Mutate a known-good string, or draw a fresh one.
      std::string s = f.accept[rng() % f.accept.size()];
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
        switch (rng() % 3) {
          case 0: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
          case 1: if (pos < s.size()) s.erase(pos, 1); break;
          default: if (pos < s.size()) s[pos] = alphabet[rng() % alphabet.size()]; break;
        }
      }
      inputs.push_back(s);
    }
    for (const auto& s : inputs) {
      bool want = Oracle(f, re, s);
      EXPECT_EQ(f.match(s), want) << f.name << ": '" << s << "'";
    }
  }
}

TEST(ConfigFormats, TaintStringParts) {
  auto t = SplitTaintString("a=b=c:NoSchedule");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->key, "a");
  EXPECT_EQ(t->value, "b=c");
  EXPECT_EQ(t->effect, "NoSchedule");
  auto k = SplitTaintString("gpu:NoExecute");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->key, "gpu");
  EXPECT_EQ(k->value, "");
  EXPECT_EQ(k->effect, "NoExecute");
}

}  // namespace
}  // namespace nic::config_internal
