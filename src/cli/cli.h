// The CLI layer: turns flags into library calls and results into text or JSON. No business
// logic lives here. Each subcommand is one function in its own cmd_*.cpp file, listed in the
// table in main.cpp.
//
// Output contract (design §9.2, §9.5): with --format json the result object goes to stdout and
// nothing else does; logs and progress go to stderr. Errors in JSON mode are printed as
// {"success": false, "error": {"code", "message", "details", "recovery_suggestions"}}.
#pragma once

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// cxxopts' regex mode defines six std::regex objects at namespace scope in its header, so every
// translation unit including it compiled them at start-up: about half the instructions of
// `nic --version`. The regex-free mode (cxxopts >= 3.1) parses the same flag syntax by hand.
// This header is the only place cxxopts is included, so the choice is the same everywhere.
#define CXXOPTS_NO_REGEX
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include "nic/backend.h"
#include "nic/history.h"
#include "nic/state_encryption.h"
#include "nic/state_manager.h"
#include "nic/status.h"

namespace nic::cli {

enum class OutputFormat { kText, kJson };

// Arguments after the subcommand words ("nic state push -x" -> args = {"-x"}), plus the
// full command name for help text ("state push").
struct Invocation {
  std::string command;
  std::vector<std::string> args;
};

using CommandFn = int (*)(const Invocation&);

struct CommandSpec {
  const char* name;     // "state push"
  const char* summary;  // one line for `nic --help`
  CommandFn run;
};

// --- helpers shared by commands -------------------------------------------------------------

// Parses `inv.args` with `options`; on a flag error prints it (with "run nic <cmd> --help") and
// returns nullopt, in which case the command returns ExitCodeFor(kUsage). Handles --help itself
// (prints help, *exit_code = 0).
std::optional<cxxopts::ParseResult> ParseArgs(cxxopts::Options& options, const Invocation& inv,
                                              int* exit_code);

// Adds --format (text|json).
void AddFormatOption(cxxopts::Options& options);
Result<OutputFormat> GetFormat(const cxxopts::ParseResult& parsed);

// Adds the state-location options shared by every command that touches state:
//   --state PATH, --backend NAME, --backend-config key=value (repeatable),
//   --lock-timeout DURATION, --history-db PATH
void AddStateOptions(cxxopts::Options& options);

// The opened backend + history + engine for a command, from the state options.
struct StateContext {
  BackendConfig backend_config;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<HistoryDb> history;
  std::unique_ptr<StateEncryption> encryption;  // from NIC_STATE_* (state_encryption_config.h); may be null
  std::unique_ptr<StateManager> manager;
};
Result<StateContext> OpenState(const cxxopts::ParseResult& parsed);

// The prologue of a command on the state: adds --format and the state options, parses, opens
// the state. Returns nullopt with *exit_code set when the command must stop (help, usage
// error, open failure; the error is already reported).
struct PreparedState {
  cxxopts::ParseResult parsed;
  OutputFormat format;
  StateContext ctx;
};
std::optional<PreparedState> PrepareStateCommand(cxxopts::Options& options, const Invocation& inv, int* exit_code);

// Default local state path (design §6.1).
inline constexpr const char* kDefaultStatePath = ".nebari/stages/02-infrastructure/nic-state.json";

// Prints an error: JSON error object on stdout in JSON mode, a readable block on stderr in text
// mode. Returns the exit code for it.
int ReportError(const Status& st, OutputFormat format);
nlohmann::json ErrorObject(const Status& st);

// Prints `j` (pretty) followed by a newline on stdout.
void PrintJson(const nlohmann::json& j);

// Progress/log line on stderr ("nic: ...").
void Log(const std::string& line);

// Reads the whole of stdin or a file ("-" = stdin).
Result<std::string> ReadInput(const std::string& path);

// Keeps `value` (moved in) alive until the process exits and never destroys it. For the large
// trees a command is done with just before it returns (a 100k-resource state, its plan):
// freeing them node by node at exit was a quarter of `nic plan`'s CPU time, for memory the
// kernel takes back anyway. Only for values whose destructors do nothing but free memory (no
// lock, file, database or stream inside). Kept values stay reachable from a static, so
// LeakSanitizer does not report them.
std::vector<void*>& KeptUntilExit();
template <class T>
void KeepUntilExit(T&& value) {
  KeptUntilExit().push_back(new std::decay_t<T>(std::forward<T>(value)));
}

}  // namespace nic::cli
