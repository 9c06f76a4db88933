// Status and Result<T>: how every NIC API reports failure.
//
// Exceptions never cross the library boundary. A Status carries a kind that code can branch on
// (ErrorCode), a complete human sentence (message), machine-readable details and recovery
// suggestions (the error object of the subprocess contract, design §9.5), and maps to one
// documented process exit code.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace nic {

enum class ErrorCode {
  kOk = 0,
  kUsage,            // bad command-line flags or arguments
  kInvalidConfig,    // nebari-config.yaml is malformed or fails validation
  kInvalidState,     // a NIC state document is corrupt, unsupported, or fails validation
  kInvalidInput,     // another input (Terraform state, lock file, HTTP response) is malformed
  kNotFound,         // a file, object, resource or version does not exist
  kLockHeld,         // the state lock is held by someone else
  kConflict,         // a write was refused: lineage/serial mismatch or failed precondition
  kIOError,          // local filesystem or database failure
  kPermissionDenied, // access denied by the OS or the cloud
  kUnauthenticated,  // credentials missing, expired or wrong
  kUnavailable,      // endpoint unreachable, connection reset, 5xx after retries
  kTimeout,          // an operation or wait ran out of time
  kRefused,          // a safety rule refused the operation (immutable field, imported resource...)
  kUnsupported,      // the operation or feature is not supported here
  kInternal,         // a bug in NIC
};

// Stable, upper-case name used as error.code in JSON output ("LOCK_HELD", ...).
const char* ErrorCodeName(ErrorCode code);

// The process exit code for an error kind; see README "Exit codes".
int ExitCodeFor(ErrorCode code);

// Exit codes that are not errors.
inline constexpr int kExitOk = 0;
inline constexpr int kExitChangesPresent = 2;  // plan/drift with --detailed-exitcode

class Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status Usage(std::string m) { return {ErrorCode::kUsage, std::move(m)}; }
  static Status InvalidConfig(std::string m) { return {ErrorCode::kInvalidConfig, std::move(m)}; }
  static Status InvalidState(std::string m) { return {ErrorCode::kInvalidState, std::move(m)}; }
  static Status InvalidInput(std::string m) { return {ErrorCode::kInvalidInput, std::move(m)}; }
  static Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Status LockHeld(std::string m) { return {ErrorCode::kLockHeld, std::move(m)}; }
  static Status Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
  static Status IOError(std::string m) { return {ErrorCode::kIOError, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {ErrorCode::kPermissionDenied, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {ErrorCode::kUnauthenticated, std::move(m)}; }
  static Status Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {ErrorCode::kTimeout, std::move(m)}; }
  static Status Refused(std::string m) { return {ErrorCode::kRefused, std::move(m)}; }
  static Status Unsupported(std::string m) { return {ErrorCode::kUnsupported, std::move(m)}; }
  static Status Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::map<std::string, std::string>& details() const { return details_; }
  const std::vector<std::string>& suggestions() const { return suggestions_; }

  // Builder-style enrichment; returns *this so call sites stay one expression.
  Status& WithDetail(const std::string& key, std::string value) {
    details_[key] = std::move(value);
    return *this;
  }
  Status& WithSuggestion(std::string s) {
    suggestions_.push_back(std::move(s));
    return *this;
  }
  // Prefixes the message with context ("reading state from s3://b/k: ...").
  Status& Prepend(const std::string& context) {
    message_ = context + ": " + message_;
    return *this;
  }

  // "LOCK_HELD: <message>" (or "OK").
  std::string ToString() const;
  int exit_code() const { return ExitCodeFor(code_); }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::map<std::string, std::string> details_;
  std::vector<std::string> suggestions_;
};

// Either a value or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}              // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}       // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return std::get<T>(v_); }
  const T& operator*() const& { return std::get<T>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace nic

// Early-return helpers, in the style of absl/leveldb.
#define NIC_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::nic::Status _nic_st = (expr);            \
    if (!_nic_st.ok()) return _nic_st;         \
  } while (0)

#define NIC_CONCAT_INNER(a, b) a##b
#define NIC_CONCAT(a, b) NIC_CONCAT_INNER(a, b)
#define NIC_ASSIGN_OR_RETURN(lhs, expr) NIC_ASSIGN_OR_RETURN_IMPL(NIC_CONCAT(_nic_r_, __COUNTER__), lhs, expr)
#define NIC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
