#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "nic/env.h"
#include "nic/log.h"
#include "nic/state_encryption_config.h"
#include "src/cli/cli.h"

namespace nic::cli {

std::optional<cxxopts::ParseResult> ParseArgs(cxxopts::Options& options, const Invocation& inv, int* exit_code) {
  options.add_options()("h,help", "Show help for this command");
  std::vector<std::string> argv_s;
  argv_s.push_back("nic " + inv.command);
  argv_s.insert(argv_s.end(), inv.args.begin(), inv.args.end());
  std::vector<const char*> argv;
  for (const auto& s : argv_s) argv.push_back(s.c_str());
  try {
    auto parsed = options.parse(static_cast<int>(argv.size()), argv.data());
    if (parsed.count("help")) {
      std::cout << options.help() << std::endl;
      *exit_code = 0;
      return std::nullopt;
    }
    if (!parsed.unmatched().empty()) {
      std::cerr << "nic " << inv.command << ": unexpected argument \"" << parsed.unmatched()[0]
                << "\". Run nic " << inv.command << " --help.\n";
      *exit_code = ExitCodeFor(ErrorCode::kUsage);
      return std::nullopt;
    }
    return parsed;
  } catch (const std::exception& e) {
    std::cerr << "nic " << inv.command << ": " << e.what() << ". Run nic " << inv.command << " --help.\n";
    *exit_code = ExitCodeFor(ErrorCode::kUsage);
    return std::nullopt;
  }
}

void AddFormatOption(cxxopts::Options& options) {
  options.add_options()("format", "Output format: text or json", cxxopts::value<std::string>()->default_value("text"));
}

Result<OutputFormat> GetFormat(const cxxopts::ParseResult& parsed) {
  std::string f = parsed["format"].as<std::string>();
  if (f == "text") return OutputFormat::kText;
  if (f == "json") return OutputFormat::kJson;
  return Status::Usage("--format must be text or json, not \"" + f + "\"");
}

void AddStateOptions(cxxopts::Options& options) {
  options.add_options("State")
      ("state", "Local state file path (local backend)", cxxopts::value<std::string>()->default_value(kDefaultStatePath))
      ("backend", "State backend: local, s3, gcs, azurerm", cxxopts::value<std::string>()->default_value("local"))
      ("backend-config", "Backend setting key=value, or a file of such lines (repeatable)", cxxopts::value<std::vector<std::string>>())
      ("lock-timeout", "How long to wait for the state lock (e.g. 30s, 5m); 0 = fail at once", cxxopts::value<std::string>()->default_value("0s"))
      ("history-db", "History database path (default: nic-history.db beside the local state, or .nebari/nic-history.db)", cxxopts::value<std::string>());
}

namespace {

std::string Trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  s = s.substr(b, e - b + 1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// "key=value", or a file of `key = "value"` lines (the body of a Terraform backend block).
Status AddBackendSetting(const std::string& item, BackendConfig* cfg) {
  auto eq = item.find('=');
  if (eq != std::string::npos) {
    std::string k = Trim(item.substr(0, eq));
    if (k.empty()) return Status::Usage("--backend-config \"" + item + "\": missing key before '='");
    cfg->values[k] = Trim(item.substr(eq + 1));
    return Status::OK();
  }
  std::ifstream in(item);
  if (!in) {
    return Status::Usage("--backend-config \"" + item + "\" is neither key=value nor a readable file");
  }
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t.rfind("//", 0) == 0) continue;
    auto e = t.find('=');
    if (e == std::string::npos) {
      return Status::Usage(item + ":" + std::to_string(n) + ": expected key = value, found \"" + t + "\"");
    }
    cfg->values[Trim(t.substr(0, e))] = Trim(t.substr(e + 1));
  }
  return Status::OK();
}

}  // namespace

Result<StateContext> OpenState(const cxxopts::ParseResult& parsed) {
  StateContext ctx;
  ctx.backend_config.type = parsed["backend"].as<std::string>();
  if (parsed.count("backend-config")) {
    for (const auto& item : parsed["backend-config"].as<std::vector<std::string>>()) {
      NIC_RETURN_IF_ERROR(AddBackendSetting(item, &ctx.backend_config));
    }
  }
  if (ctx.backend_config.type == "local" && !ctx.backend_config.values.count("path")) {
    ctx.backend_config.values["path"] = parsed["state"].as<std::string>();
  }
  NIC_ASSIGN_OR_RETURN(ctx.backend, OpenBackend(ctx.backend_config));

  std::string lock_timeout = parsed["lock-timeout"].as<std::string>();
  auto lt = ParseDurationMicros(lock_timeout);
  if (!lt) return Status::Usage("--lock-timeout \"" + lock_timeout + "\" is not a duration (examples: 0, 30s, 5m, 1h)");

  std::string history_path;
  if (parsed.count("history-db")) {
    history_path = parsed["history-db"].as<std::string>();
  } else if (ctx.backend_config.type == "local") {
    auto dir = std::filesystem::path(ctx.backend->Location()).parent_path();
    history_path = (dir / "nic-history.db").string();
  } else {
    history_path = ".nebari/nic-history.db";
  }
  auto hdir = std::filesystem::path(history_path).parent_path().string();
  if (!hdir.empty()) NIC_RETURN_IF_ERROR(Env::Default()->CreateDirs(hdir));
  NIC_ASSIGN_OR_RETURN(ctx.history, HistoryDb::Open(history_path));

  NIC_ASSIGN_OR_RETURN(ctx.encryption, StateEncryptionFromEnv(auth::ProcessEnv()));

  StateManagerOptions opts;
  opts.lock_timeout_micros = *lt;
  opts.history = ctx.history.get();
  opts.encryption = ctx.encryption.get();
  ctx.manager = std::make_unique<StateManager>(ctx.backend.get(), opts);
  return ctx;
}

std::optional<PreparedState> PrepareStateCommand(cxxopts::Options& options, const Invocation& inv, int* exit_code) {
  AddFormatOption(options);
  AddStateOptions(options);
  auto parsed = ParseArgs(options, inv, exit_code);
  if (!parsed) return std::nullopt;
  auto fmt = GetFormat(*parsed);
  if (!fmt.ok()) {
    *exit_code = ReportError(fmt.status(), OutputFormat::kText);
    return std::nullopt;
  }
  auto ctx = OpenState(*parsed);
  if (!ctx.ok()) {
    *exit_code = ReportError(ctx.status(), *fmt);
    return std::nullopt;
  }
  return PreparedState{std::move(*parsed), *fmt, std::move(ctx).value()};
}

nlohmann::json ErrorObject(const Status& st) {
  nlohmann::json details = nlohmann::json::object();
  for (const auto& [k, v] : st.details()) details[k] = v;
  return {{"success", false},
          {"error",
           {{"code", ErrorCodeName(st.code())},
            {"message", st.message()},
            {"details", details},
            {"recovery_suggestions", st.suggestions()},
            {"exit_code", st.exit_code()}}}};
}

int ReportError(const Status& st, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    PrintJson(ErrorObject(st));
  } else {
    std::string text = "nic: error: " + st.message() + "\n";
    for (const auto& s : st.suggestions()) text += "  - " + s + "\n";
    std::cerr << text;
  }
  return st.exit_code();
}

void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

std::vector<void*>& KeptUntilExit() {
  static auto* kept = new std::vector<void*>();  // never destroyed: see KeepUntilExit
  return *kept;
}

void Log(const std::string& line) { nic::Log(LogLevel::kInfo, line); }

Result<std::string> ReadInput(const std::string& path) {
  if (path == "-") {
    std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return s;
  }
  return Env::Default()->ReadFile(path);
}

}  // namespace nic::cli
