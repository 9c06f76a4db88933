// Turns fuzzer bytes into an HTTP response, for the targets that fuzz cloud response parsers.
//
// Format: "STATUS\nName: value\n...\n\nBODY". When the input does not start with a 3-digit
// status line, the whole input is the body of a 400 response, so a raw XML or JSON seed file
// (S3 error, EC2 listing, GCS object resource) is a useful input as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nic/http.h"

namespace nic::fuzz {

inline http::Response ResponseFromBytes(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  http::Response r;
  r.status = 400;
  if (in.size() >= 4 && in[0] >= '1' && in[0] <= '5' && in[1] >= '0' && in[1] <= '9' && in[2] >= '0' &&
      in[2] <= '9' && in[3] == '\n') {
    r.status = (in[0] - '0') * 100 + (in[1] - '0') * 10 + (in[2] - '0');
    in.remove_prefix(4);
    while (!in.empty()) {
      size_t eol = in.find('\n');
      std::string_view line = in.substr(0, eol);
      in.remove_prefix(eol == std::string_view::npos ? in.size() : eol + 1);
      if (line.empty()) break;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      r.headers.Add(line.substr(0, colon), value);
    }
  }
  r.body.assign(in);
  return r;
}

// A transport that answers every request with the same response, to drive a client's parsing.
class OneResponseTransport final : public http::Transport {
 public:
  explicit OneResponseTransport(http::Response response) : response_(std::move(response)) {}
  Result<http::Response> Send(const http::Request&) override { return response_; }

 private:
  http::Response response_;
};

}  // namespace nic::fuzz
