#include "nic/status.h"

namespace nic {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kUsage: return "USAGE";
    case ErrorCode::kInvalidConfig: return "INVALID_CONFIG";
    case ErrorCode::kInvalidState: return "INVALID_STATE";
    case ErrorCode::kInvalidInput: return "INVALID_INPUT";
    case ErrorCode::kNotFound: return "NOT_FOUND";
    case ErrorCode::kLockHeld: return "LOCK_HELD";
    case ErrorCode::kConflict: return "STATE_CONFLICT";
    case ErrorCode::kIOError: return "IO_ERROR";
    case ErrorCode::kPermissionDenied: return "PERMISSION_DENIED";
    case ErrorCode::kUnauthenticated: return "UNAUTHENTICATED";
    case ErrorCode::kUnavailable: return "UNAVAILABLE";
    case ErrorCode::kTimeout: return "TIMEOUT";
    case ErrorCode::kRefused: return "REFUSED";
    case ErrorCode::kUnsupported: return "UNSUPPORTED";
    case ErrorCode::kInternal: return "INTERNAL";
  }
  return "UNKNOWN";
}

// The table in README.md "Exit codes" documents these; keep them in step.
int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 0;
    case ErrorCode::kLockHeld: return 3;
    case ErrorCode::kUsage: return 4;
    case ErrorCode::kInvalidConfig: return 5;
    case ErrorCode::kInvalidState: return 6;
    case ErrorCode::kConflict: return 7;
    case ErrorCode::kInvalidInput: return 8;
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kUnauthenticated: return 9;
    case ErrorCode::kRefused: return 10;
    default: return 1;
  }
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(ErrorCodeName(code_)) + ": " + message_;
}

}  // namespace nic
