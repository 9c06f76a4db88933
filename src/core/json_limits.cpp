#include "nic/json_limits.h"

namespace nic {

Status CheckJsonDepth(std::string_view text, const std::string& source, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
    }
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return Status::InvalidInput(source + ": JSON nested more than " + std::to_string(max_depth) +
                                    " levels deep at line " + std::to_string(line) + ", column " +
                                    std::to_string(i - line_start + 1) +
                                    "; no document NIC reads nests this deep, so the file or response is "
                                    "damaged or not what it claims to be")
            .WithDetail("file", source)
            .WithDetail("line", std::to_string(line));
      }
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    }
  }
  return Status::OK();
}

nlohmann::json ParseJsonBounded(std::string_view text) {
  if (!CheckJsonDepth(text, "").ok()) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace nic
