#include "src/config/formats.h"

namespace nic::config_internal {

namespace {

bool Digit(char c) { return c >= '0' && c <= '9'; }
bool Lower(char c) { return c >= 'a' && c <= 'z'; }
bool Upper(char c) { return c >= 'A' && c <= 'Z'; }
bool Letter(char c) { return Lower(c) || Upper(c); }
bool Alnum(char c) { return Letter(c) || Digit(c); }
bool Octal(char c) { return c >= '0' && c <= '7'; }
bool Hex(char c) { return Digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// std::regex's \s in the C locale.
bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

template <typename Pred>
bool All(std::string_view s, Pred p) {
  for (char c : s) {
    if (!p(c)) return false;
  }
  return true;
}

// Consumes a run of at least one character satisfying p; false when there is none.
template <typename Pred>
bool Run(std::string_view* s, Pred p) {
  size_t i = 0;
  while (i < s->size() && p((*s)[i])) ++i;
  s->remove_prefix(i);
  return i > 0;
}

bool Eat(std::string_view* s, char c) {
  if (s->empty() || s->front() != c) return false;
  s->remove_prefix(1);
  return true;
}

// first + middle* + last, or a single `first` character that also satisfies `last`:
// F(M*L)? with one-character strings allowed when F is also L.
template <typename F, typename M, typename L>
bool Edged(std::string_view s, F first, M middle, L last) {
  if (s.empty() || !first(s.front())) return false;
  if (s.size() == 1) return true;
  if (!last(s.back())) return false;
  return All(s.substr(1, s.size() - 2), middle);
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool DnsLabel(std::string_view s) {
  auto lower_alnum = [](char c) { return Lower(c) || Digit(c); };
  return Edged(s, lower_alnum, [](char c) { return Lower(c) || Digit(c) || c == '-'; }, lower_alnum);
}

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?
bool QualifiedName(std::string_view s) {
  return Edged(s, Alnum, [](char c) { return Alnum(c) || c == '-' || c == '_' || c == '.'; }, Alnum);
}

}  // namespace

bool IsCoreInt(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') return All(s.substr(2), Octal);
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') return All(s.substr(2), Hex);
  if (s[0] == '-' || s[0] == '+') s.remove_prefix(1);
  return !s.empty() && All(s, Digit);
}

bool IsCoreFloat(std::string_view s) {
  if (s.size() > 64) return false;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return true;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  if (s == ".inf" || s == ".Inf" || s == ".INF") return true;
  // \.[0-9]+ | [0-9]+(\.[0-9]*)?
  if (Eat(&s, '.')) {
    if (!Run(&s, Digit)) return false;
  } else {
    if (!Run(&s, Digit)) return false;
    if (Eat(&s, '.')) Run(&s, Digit);
  }
  if (s.empty()) return true;
  // [eE][-+]?[0-9]+
  if (s[0] != 'e' && s[0] != 'E') return false;
  s.remove_prefix(1);
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return Run(&s, Digit) && s.empty();
}

bool IsQuotedDecimalInt(std::string_view s) {
  if (s.size() >= 20) return false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return !s.empty() && All(s, Digit);
}

bool IsCidrV4(std::string_view s) {
  if (s.size() > 18) return false;
  // One to `max_digits` digits whose value is at most `max_value`.
  auto number = [&s](size_t max_digits, int max_value) {
    size_t i = 0;
    int v = 0;
    while (i < s.size() && Digit(s[i])) v = v * 10 + (s[i++] - '0');
    if (i == 0 || i > max_digits) return false;
    s.remove_prefix(i);
    return v <= max_value;
  };
  for (int octet = 0; octet < 4; ++octet) {
    if (!number(3, 255)) return false;
    if (!Eat(&s, octet < 3 ? '.' : '/')) return false;
  }
  return number(2, 32) && s.empty();
}

bool IsProjectName(std::string_view s) {
  return s.size() >= 3 && s.size() <= 16 &&
         Edged(s, Letter, [](char c) { return Alnum(c) || c == '-' || c == '_'; }, Alnum);
}

bool IsNamespaceName(std::string_view s) {
  return s.size() >= 2 && s.size() <= 63 &&
         Edged(s, Letter, [](char c) { return Letter(c) || c == '-' || c == '_'; }, Letter);
}

bool IsNebariVersion(std::string_view s) {
  if (s.size() > 64) return false;
  // The optional separator [.+\-] is itself in the suffix alphabet, so the suffix is any run of
  // [0-9A-Za-z.+\-] after the patch digits.
  if (s.size() < 4 || !All(s.substr(0, 4), Digit)) return false;
  s.remove_prefix(4);
  if (!Eat(&s, '.')) return false;
  size_t n = 0;
  while (n < s.size() && Digit(s[n])) ++n;
  if (n < 1 || n > 2) return false;
  s.remove_prefix(n);
  if (!Eat(&s, '.') || !Run(&s, Digit)) return false;
  return All(s, [](char c) { return Alnum(c) || c == '.' || c == '+' || c == '-'; });
}

bool IsKubernetesVersion(std::string_view s) {
  if (s.size() > 64) return false;
  if (!Run(&s, Digit) || !Eat(&s, '.') || !Run(&s, Digit)) return false;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    if (!Run(&s, Digit)) return false;
  }
  if (s.empty()) return true;
  if (s[0] != '-' && s[0] != '+') return false;
  s.remove_prefix(1);
  return !s.empty() && All(s, [](char c) { return Alnum(c) || c == '.' || c == '+' || c == '-'; });
}

bool IsTaintKey(std::string_view s) {
  if (s.size() > 316) return false;
  // The prefix cannot contain '/', and neither can the name: split at the first one.
  size_t slash = s.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = s.substr(0, slash);
    s.remove_prefix(slash + 1);
    for (;;) {
      size_t dot = prefix.find('.');
      if (!DnsLabel(prefix.substr(0, dot))) return false;
      if (dot == std::string_view::npos) break;
      prefix.remove_prefix(dot + 1);
    }
  }
  return QualifiedName(s);
}

bool IsTaintValue(std::string_view s) { return s.size() <= 63 && (s.empty() || QualifiedName(s)); }

std::optional<TaintParts> SplitTaintString(std::string_view s) {
  if (s.size() > 400) return std::nullopt;
  TaintParts t;
  size_t i = 0;
  while (i < s.size() && s[i] != '=' && s[i] != ':' && !Space(s[i])) ++i;
  if (i == 0) return std::nullopt;
  t.key = s.substr(0, i);
  s.remove_prefix(i);
  if (Eat(&s, '=')) {
    size_t j = 0;
    while (j < s.size() && s[j] != ':' && !Space(s[j])) ++j;
    t.value = s.substr(0, j);
    s.remove_prefix(j);
  }
  if (!Eat(&s, ':') || s.empty() || !All(s, Letter)) return std::nullopt;
  t.effect = s;
  return t;
}

bool IsNodeGroupName(std::string_view s) {
  return s.size() <= 63 &&
         Edged(s, Alnum, [](char c) { return Alnum(c) || c == '-' || c == '_'; }, Alnum);
}

bool IsAksNodePoolName(std::string_view s) {
  return !s.empty() && s.size() <= 12 && Lower(s[0]) &&
         All(s.substr(1), [](char c) { return Lower(c) || Digit(c); });
}

bool IsAwsRegion(std::string_view s) {
  if (s.size() > 32 || s.size() < 3 || !Lower(s[0]) || !Lower(s[1]) || s[2] != '-') return false;
  s.remove_prefix(3);
  // Segments between dashes: one or more [a-z]+, then the last one [0-9]+.
  size_t letter_segments = 0;
  for (;;) {
    size_t dash = s.find('-');
    std::string_view seg = s.substr(0, dash);
    if (dash == std::string_view::npos) {
      return letter_segments > 0 && !seg.empty() && All(seg, Digit);
    }
    if (seg.empty() || !All(seg, Lower)) return false;
    ++letter_segments;
    s.remove_prefix(dash + 1);
  }
}

bool IsGcpRegion(std::string_view s) {
  if (s.size() > 32) return false;
  return Run(&s, Lower) && Eat(&s, '-') && Run(&s, Lower) && Run(&s, Digit) && s.empty();
}

bool IsGcpProject(std::string_view s) {
  return s.size() >= 6 && s.size() <= 30 &&
         Edged(s, Lower, [](char c) { return Lower(c) || Digit(c) || c == '-'; },
               [](char c) { return Lower(c) || Digit(c); });
}

bool IsAwsArn(std::string_view s) {
  if (s.size() > 256 || !s.starts_with("arn:aws")) return false;
  s.remove_prefix(7);
  while (!s.empty() && (Lower(s[0]) || s[0] == '-')) s.remove_prefix(1);
  if (!Eat(&s, ':')) return false;
  if (!Run(&s, [](char c) { return Lower(c) || Digit(c) || c == '-'; })) return false;
  if (!Eat(&s, ':')) return false;
  return All(s, [](char c) { return !Space(c); });
}

bool IsSecurityGroupId(std::string_view s) {
  return s.size() <= 256 && s.size() > 3 && s.starts_with("sg-") &&
         All(s.substr(3), [](char c) { return Digit(c) || (c >= 'a' && c <= 'f'); });
}

bool IsAzureStoragePostfix(std::string_view s) {
  return !s.empty() && s.size() <= 16 && All(s, [](char c) { return Lower(c) || Digit(c); });
}

bool IsAzureResourceGroupChars(std::string_view s) {
  return !s.empty() && s.size() <= 90 && All(s, [](char c) {
    return Alnum(c) || c == '_' || c == '-' || c == '.' || c == '(' || c == ')';
  });
}

bool IsStorageQuantity(std::string_view s) {
  if (s.size() > 32) return false;
  if (!Run(&s, Digit)) return false;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    if (!Run(&s, Digit)) return false;
  }
  return s.empty() || s == "Ki" || s == "Mi" || s == "Gi" || s == "Ti" || s == "K" || s == "M" ||
         s == "G" || s == "T";
}

}  // namespace nic::config_internal
