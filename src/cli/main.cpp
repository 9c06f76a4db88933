// nic: the command-line entry point. Dispatches "nic <command> [<subcommand>] args..." to one
// function per command; every command lives in its own cmd_*.cpp.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "nic/status.h"
#include "nic/version.h"
#include "src/cli/cli.h"
#include "src/cli/cmd_import.h"
#include "src/cli/cmd_reconcile.h"
#include "src/cli/cmd_state.h"
#include "src/cli/cmd_state_encryption.h"
#include "src/cli/cmd_validate.h"

namespace nic::cli {
namespace {

// One row per command. Keep "nic --help" readable: group by workflow.
const CommandSpec kCommands[] = {
    {"validate", "Check nebari-config.yaml offline (add --state to check immutable fields)", RunValidate},
    {"import", "Import Terraform stages 02/03: nic import --from-terraform ...", RunImport},
    {"plan", "Show what deploy would change (config x state x live)", RunPlan},
    {"deploy", "Apply the config: per-change state persistence, crash-safe journal", RunDeploy},
    {"drift detect", "Report differences between the state and live resources", RunDriftDetect},
    {"drift diff", "Field-level detail of the drift", RunDriftDiff},
    {"drift accept", "Accept live values into the state", RunDriftAccept},
    {"drift fix", "Restore live resources to the recorded state", RunDriftFix},
    {"status", "Health of the managed infrastructure", RunStatus},
    {"destroy", "Delete what the state records (imported resources protected)", RunDestroy},
    {"state show", "Show the state (or one resource, or a past serial)", RunStateShow},
    {"state pull", "Print the raw state document to stdout", RunStatePull},
    {"state push", "Replace the state with a document (lineage/serial checked)", RunStatePush},
    {"state list", "List resource addresses in the state", RunStateList},
    {"state history", "List the versions recorded in the history database", RunStateHistory},
    {"state rollback", "Write an earlier version back as a new serial", RunStateRollback},
    {"state unlock", "Force-unlock the state: nic state unlock --force LOCK_ID", RunStateUnlock},
    {"state migrate", "Copy the state to another backend (both locked, verified)", RunStateMigrate},
    {"state encrypt", "Encrypt the state with the configured key (or re-encrypt after a rotation)", RunStateEncrypt},
    {"state decrypt", "Store the state unencrypted again (one new serial)", RunStateDecrypt},
};

void PrintHelp() {
  std::cout << "nic " << kNicVersion
            << " — Nebari Infrastructure Core: manages Nebari's infrastructure and Kubernetes layers.\n\n"
               "Usage: nic <command> [options]\n\nCommands:\n";
  for (const auto& c : kCommands) {
    std::string name = c.name;
    std::cout << "  " << name << std::string(name.size() < 18 ? 18 - name.size() : 1, ' ') << c.summary << "\n";
  }
  std::cout << "\nGlobal: nic --version, nic <command> --help.\n"
               "Results go to stdout (--format json for machines); progress and logs go to stderr.\n"
               "Exit codes: 0 ok, 1 error, 2 changes/drift present (--detailed-exitcode), 3 state locked,\n"
               "4 usage, 5 invalid config, 6 invalid state, 7 state write conflict, 8 invalid input file,\n"
               "9 access denied/credentials, 10 refused by a safety rule.\n";
}

}  // namespace
}  // namespace nic::cli

int main(int argc, char** argv) {
  using namespace nic::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintHelp();
    return args.empty() ? nic::ExitCodeFor(nic::ErrorCode::kUsage) : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << "nic " << nic::kNicVersion << "\n";
    return 0;
  }
  // Longest match: "state push" before "state".
  const CommandSpec* best = nullptr;
  size_t best_words = 0;
  for (const auto& c : kCommands) {
    std::vector<std::string> words;
    std::string name = c.name;
    size_t start = 0;
    while (true) {
      auto sp = name.find(' ', start);
      words.push_back(name.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
      if (sp == std::string::npos) break;
      start = sp + 1;
    }
    if (words.size() > args.size()) continue;
    bool match = true;
    for (size_t i = 0; i < words.size(); ++i) match &= words[i] == args[i];
    if (match && words.size() > best_words) {
      best = &c;
      best_words = words.size();
    }
  }
  if (best == nullptr) {
    std::string what = args[0];
    if (args.size() > 1 && args[1][0] != '-') what += " " + args[1];
    std::cerr << "nic: unknown command \"" << what << "\". Run nic --help for the list of commands.\n";
    return nic::ExitCodeFor(nic::ErrorCode::kUsage);
  }
  Invocation inv{best->name, std::vector<std::string>(args.begin() + static_cast<long>(best_words), args.end())};
  return best->run(inv);
}
