// LockInfo: one shape describing a state lock, shared by every backend.
//
// The JSON keys are Terraform's (its Go struct has no json tags): ID, Operation, Info, Who,
// Version, Created, Path. NIC adds PID (local backend) so a stale lock can be diagnosed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nic/status.h"

namespace nic {

class Env;

struct LockInfo {
  std::string id;         // random UUIDv4 (CSPRNG); the nonce force-unlock must quote
  std::string operation;  // "deploy", "state push", "import", ...
  std::string info;       // free text
  std::string who;        // user@host
  std::string version;    // NIC version
  std::string created;    // RFC 3339 UTC
  std::string path;       // what is locked, as the backend names it
  int64_t pid = 0;        // holder's process id (0 when unknown)

  // A new lock description for `operation` with a fresh ID, who, version and time.
  static LockInfo New(std::string operation, Env* env);

  std::string ToJson() const;
  // Parses the JSON a backend stored; `source` names where it came from for error messages.
  static Result<LockInfo> FromJson(std::string_view json, const std::string& source);

  // Multi-line human description, Terraform-style ("Lock Info:\n  ID: ...").
  std::string Describe(Env* env) const;
};

// The error every backend returns when another holder has the lock. The message names the
// holder, the operation, its age and the lock ID, and suggests `nic state unlock --force ID`.
Status LockHeldError(const LockInfo& holder, const std::string& backend_name, Env* env);

// A random RFC 4122 version-4 UUID from the OS CSPRNG.
std::string NewUuid();

}  // namespace nic
