// Rendering of config diagnostics and the "did you mean" helper.
#include <algorithm>
#include <string>
#include <vector>

#include "nic/config.h"

namespace nic {

std::string FormatDiagnostic(const ConfigDiagnostic& d) {
  std::string out = d.file.empty() ? std::string("<config>") : d.file;
  if (d.line > 0) {
    // Appended piecewise: `":" + std::to_string(...)` trips GCC 12's -Wrestrict false
    // positive at -O3 (GCC bug 105329), which broke Release builds with -Werror.
    out += ':';
    out += std::to_string(d.line);
    if (d.column > 0) {
      out += ':';
      out += std::to_string(d.column);
    }
  }
  out += ": ";
  if (!d.path.empty()) out += d.path + ": ";
  out += d.message;
  return out;
}

nlohmann::json DiagnosticToJson(const ConfigDiagnostic& d) {
  return nlohmann::json{{"file", d.file},         {"line", d.line},     {"column", d.column},
                        {"path", d.path},         {"message", d.message},
                        {"expected", d.expected}, {"found", d.found}};
}

Status ConfigLoadResult::ToStatus() const {
  if (errors.empty()) return Status::OK();
  std::string msg = errors.size() == 1 ? std::string("the configuration has 1 error:")
                                       : "the configuration has " +
                                             std::to_string(errors.size()) + " errors:";
  for (const auto& e : errors) msg += "\n  " + FormatDiagnostic(e);
  Status st = Status::InvalidConfig(std::move(msg));
  st.WithDetail("file", errors.front().file);
  st.WithDetail("error_count", std::to_string(errors.size()));
  st.WithSuggestion("fix the listed fields and run `nic validate -f " + errors.front().file +
                    "` again");
  return st;
}

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string NearestName(std::string_view word, const std::vector<std::string>& candidates) {
  // Keys are short identifiers; comparing a long hostile key would only waste time.
  if (word.empty() || word.size() > 64) return "";
  std::string best;
  size_t best_d = 0;
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    if (best.empty() || d < best_d) {
      best = c;
      best_d = d;
    }
  }
  // A third of the length (at least 2) separates typos ("instace") from different words.
  size_t limit = std::max<size_t>(2, word.size() / 3);
  if (best.empty() || best_d > limit) return "";
  return best;
}

}  // namespace nic
