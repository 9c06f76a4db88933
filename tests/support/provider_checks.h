// Provider calls that must succeed, for the provider tests: a failure is reported as a test
// failure (with the collection and the error) and answers null JSON, so the test goes on to its
// next assertion instead of crashing.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nic/provider.h"

namespace nic::testing {

inline nlohmann::json MustCreate(Provider& p, const std::string& collection, const nlohmann::json& desired,
                                 const std::string& client_token) {
  auto r = p.Create(collection, desired, client_token);
  EXPECT_TRUE(r.ok()) << collection << ": " << r.status().ToString();
  return r.ok() ? *r : nlohmann::json();
}

// Also a failure when the resource does not exist.
inline nlohmann::json MustRead(Provider& p, const std::string& collection, const nlohmann::json& recorded) {
  auto r = p.Read(collection, recorded);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || !r->has_value()) {
    ADD_FAILURE() << collection << " " << recorded.dump() << " not found";
    return nlohmann::json();
  }
  return **r;
}

inline nlohmann::json MustUpdate(Provider& p, const std::string& collection, const nlohmann::json& recorded,
                                 const nlohmann::json& desired) {
  auto r = p.Update(collection, recorded, desired);
  EXPECT_TRUE(r.ok()) << collection << ": " << r.status().ToString();
  return r.ok() ? *r : nlohmann::json();
}

}  // namespace nic::testing
