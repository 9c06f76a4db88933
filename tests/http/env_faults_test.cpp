// The NIC_TEST_FAULTS hook (fault_transport.h): off unless NIC_TEST_FAULTS is exactly 1, never
// touches a non-loopback destination, ignores malformed settings, honours NIC_FAULT_AFTER.
#include <gtest/gtest.h>

#include <cstdlib>

#include "nic/fault_transport.h"

namespace nic::http {
namespace {

// Answers 200 to everything and counts what reached it; no network.
class Recorder final : public Transport {
 public:
  explicit Recorder(int* reached) : reached_(reached) {}
  Result<Response> Send(const Request&) override {
    ++*reached_;
    Response r;
    r.status = 200;
    return r;
  }

 private:
  int* reached_;
};

class EnvFaults : public ::testing::Test {
 protected:
  void SetUp() override { Clear(); }
  void TearDown() override { Clear(); }
  static void Clear() {
    for (const char* v : {"NIC_TEST_FAULTS", "NIC_FAULT_RATE", "NIC_FAULT_SEED", "NIC_FAULT_KINDS", "NIC_FAULT_AFTER"}) ::unsetenv(v);
  }
  static Request To(const std::string& url) {
    Request r;
    r.url = url;
    return r;
  }
  int reached = 0;
};

TEST_F(EnvFaults, OffUnlessExactlyOne) {
  for (const char* value : {"", "0", "yes", "true"}) {
    if (*value) ::setenv("NIC_TEST_FAULTS", value, 1);
    ::setenv("NIC_FAULT_RATE", "1", 1);
    auto inner = std::make_unique<Recorder>(&reached);
    Transport* raw = inner.get();
    auto t = WrapWithEnvFaults(std::move(inner));
    EXPECT_EQ(t.get(), raw) << "NIC_TEST_FAULTS=\"" << value << "\" must leave the transport unwrapped";
  }
}

TEST_F(EnvFaults, FaultsLoopbackOnlyAndCountsThem) {
  ::setenv("NIC_TEST_FAULTS", "1", 1);
  ::setenv("NIC_FAULT_RATE", "1", 1);
  ::setenv("NIC_FAULT_KINDS", "403", 1);
  const EnvFaultTotals before = EnvFaultTotalsSoFar();
  auto t = WrapWithEnvFaults(std::make_unique<Recorder>(&reached));
  auto local = t->Send(To("http://127.0.0.1:4566/bucket/key"));
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->status, 403);
  EXPECT_EQ(reached, 0);
  auto cloud = t->Send(To("https://s3.us-west-2.amazonaws.com/bucket/key"));
  ASSERT_TRUE(cloud.ok());
  EXPECT_EQ(cloud->status, 200) << "a real cloud endpoint is never faulted";
  EXPECT_EQ(reached, 1);
  const EnvFaultTotals after = EnvFaultTotalsSoFar();
  EXPECT_EQ(after.injected - before.injected, 1);
  EXPECT_EQ(after.requests - before.requests, 1) << "only loopback requests are counted";
}

TEST_F(EnvFaults, AfterLetsTheFirstRequestsThrough) {
  ::setenv("NIC_TEST_FAULTS", "1", 1);
  ::setenv("NIC_FAULT_RATE", "1", 1);
  ::setenv("NIC_FAULT_KINDS", "lost", 1);
  ::setenv("NIC_FAULT_AFTER", "2", 1);
  auto t = WrapWithEnvFaults(std::make_unique<Recorder>(&reached));
  EXPECT_TRUE(t->Send(To("http://127.0.0.1/a")).ok());
  EXPECT_TRUE(t->Send(To("http://127.0.0.1/b")).ok());
  auto third = t->Send(To("http://127.0.0.1/c"));
  EXPECT_EQ(third.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(reached, 3) << "a lost reply reached the server first";
}

TEST_F(EnvFaults, MalformedSettingsLeaveItOff) {
  ::setenv("NIC_TEST_FAULTS", "1", 1);
  for (auto [name, value] : {std::pair{"NIC_FAULT_RATE", "ten"}, std::pair{"NIC_FAULT_RATE", "1.5"},
                             std::pair{"NIC_FAULT_KINDS", "503,boom"}, std::pair{"NIC_FAULT_AFTER", "-1"}}) {
    ::setenv(name, value, 1);
    auto inner = std::make_unique<Recorder>(&reached);
    Transport* raw = inner.get();
    EXPECT_EQ(WrapWithEnvFaults(std::move(inner)).get(), raw) << name << "=" << value;
    ::unsetenv(name);
  }
}

}  // namespace
}  // namespace nic::http
