#include "nic/log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace nic {
namespace {

std::mutex g_mu;
LogSink g_sink = nullptr;
void* g_sink_arg = nullptr;

LogLevel ParseLevel(const char* s) {
  if (s == nullptr || *s == '\0') return LogLevel::kInfo;
  if (std::strcmp(s, "debug") == 0 || std::strcmp(s, "trace") == 0) return LogLevel::kDebug;
  if (std::strcmp(s, "info") == 0) return LogLevel::kInfo;
  if (std::strcmp(s, "warn") == 0 || std::strcmp(s, "warning") == 0) return LogLevel::kWarn;
  if (std::strcmp(s, "error") == 0) return LogLevel::kError;
  if (std::strcmp(s, "off") == 0 || std::strcmp(s, "none") == 0) return LogLevel::kOff;
  return LogLevel::kInfo;
}

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warning";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "";
}

}  // namespace

LogLevel CurrentLogLevel() { return ParseLevel(std::getenv("NIC_LOG")); }

bool LogEnabled(LogLevel level) { return level >= CurrentLogLevel() && level != LogLevel::kOff; }

void Log(LogLevel level, const std::string& message) {
  if (!LogEnabled(level)) return;
  std::string line = "nic: ";
  if (level != LogLevel::kInfo) {
    line += LevelName(level);
    line += ": ";
  }
  line += message;
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_sink != nullptr) {
    g_sink(level, line, g_sink_arg);
    return;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void SetLogSinkForTest(LogSink sink, void* arg) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_sink = sink;
  g_sink_arg = arg;
}

}  // namespace nic
