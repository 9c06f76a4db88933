// Hand-written matchers for the text formats nebari-config.yaml values must have. Each accepts
// exactly the language of the regular expression in its comment (the form parse.cpp checked
// with std::regex before; tests/config/formats_test.cpp pins the edge cases), including the
// length limit the caller applied. They run once per value on the hot path of a config with
// 100k node groups, where std::regex cost more than the rest of the walk.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nic::config_internal {

// YAML 1.2 core schema, for plain scalars.
// [-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+, at most 40 characters.
bool IsCoreInt(std::string_view s);
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? or [-+]?\.(inf|Inf|INF) or
// \.(nan|NaN|NAN), at most 64 characters.
bool IsCoreFloat(std::string_view s);
// [-+]?[0-9]+, shorter than 20 characters (a quoted integer pydantic accepts).
bool IsQuotedDecimalInt(std::string_view s);

// ([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2}), at most 18 characters,
// octets <= 255 and prefix <= 32.
bool IsCidrV4(std::string_view s);
// [A-Za-z][A-Za-z0-9\-_]{1,14}[A-Za-z0-9] (3-16 characters).
bool IsProjectName(std::string_view s);
// [A-Za-z][A-Za-z\-_]*[A-Za-z], at most 63 characters.
bool IsNamespaceName(std::string_view s);
// [0-9]{4}\.[0-9]{1,2}\.[0-9]+([.+\-]?[0-9A-Za-z.+\-]*)?, at most 64 characters.
bool IsNebariVersion(std::string_view s);
// [0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.+-]+)?, at most 64 characters.
bool IsKubernetesVersion(std::string_view s);
// ([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?,
// at most 316 characters (Nebari's TAINT_KEY_REGEX).
bool IsTaintKey(std::string_view s);
// ([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?, at most 63 characters.
bool IsTaintValue(std::string_view s);
struct TaintParts {
  std::string key, value, effect;
};
// ([^=:\s]+)(=([^:\s]*))?:([A-Za-z]+), at most 400 characters (Nebari's TAINT_STR_REGEX form
// key[=value]:Effect); \s is the C locale's isspace.
std::optional<TaintParts> SplitTaintString(std::string_view s);
// [A-Za-z0-9]([-A-Za-z0-9_]{0,61}[A-Za-z0-9])? (1-63 characters).
bool IsNodeGroupName(std::string_view s);
// [a-z][a-z0-9]{0,11} (the AKS node pool rule, 1-12 characters).
bool IsAksNodePoolName(std::string_view s);
// [a-z]{2}(-[a-z]+)+-[0-9]+, at most 32 characters.
bool IsAwsRegion(std::string_view s);
// [a-z]+-[a-z]+[0-9]+, at most 32 characters.
bool IsGcpRegion(std::string_view s);
// [a-z][-a-z0-9]{4,28}[a-z0-9] (6-30 characters).
bool IsGcpProject(std::string_view s);
// arn:aws[a-z-]*:[a-z0-9-]+:[^\s]*, at most 256 characters.
bool IsAwsArn(std::string_view s);
// sg-[0-9a-f]+, at most 256 characters.
bool IsSecurityGroupId(std::string_view s);
// [a-z0-9]{1,16}.
bool IsAzureStoragePostfix(std::string_view s);
// [\w\-\.\(\)]+ with \w = [A-Za-z0-9_], at most 90 characters.
bool IsAzureResourceGroupChars(std::string_view s);
// [0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)?, at most 32 characters.
bool IsStorageQuantity(std::string_view s);

}  // namespace nic::config_internal
