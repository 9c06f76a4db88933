#include "tests/support/moto_server.h"

#include <chrono>
#include <thread>

namespace nic::testing {

Result<std::unique_ptr<MotoServer>> MotoServer::Start(const MotoOptions& options) {
  std::unique_ptr<MotoServer> s(new MotoServer());
  std::map<std::string, std::string> env = options.env;
  // moto reads these for its own region defaults; values are fake.
  env.emplace("AWS_DEFAULT_REGION", "us-east-1");
  env.emplace("AWS_ACCESS_KEY_ID", "testing");
  env.emplace("AWS_SECRET_ACCESS_KEY", "testing");
  if (options.initial_no_auth_action_count >= 0) {
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = std::to_string(options.initial_no_auth_action_count);
  }
  Status last = Status::Unavailable("moto_server did not start");
  // A free port can be taken between probing and binding; try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    s->port_ = FreePort();
    std::string log = s->dir_.path() + "/moto.log";
    NIC_RETURN_IF_ERROR(s->process_.Start({"moto_server", "-H", "127.0.0.1", "-p", std::to_string(s->port_)}, env, log,
                                          s->dir_.path()));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.ready_timeout_ms);
    while (std::chrono::steady_clock::now() < deadline && s->process_.Running()) {
      // The moto-api endpoints are never authenticated, so probing does not use up
      // INITIAL_NO_AUTH_ACTION_COUNT.
      if (HttpStatus(s->port_, "GET", "/moto-api/data.json") == 200) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    last = Status::Unavailable("moto_server on port " + std::to_string(s->port_) + " not ready; log:\n" +
                               s->process_.LogTail());
    s->process_.Stop();
  }
  return last;
}

Status MotoServer::Reset() {
  int st = HttpStatus(port_, "POST", "/moto-api/reset");
  return st == 200 ? Status::OK() : Status::Unavailable("moto reset returned " + std::to_string(st));
}

}  // namespace nic::testing
