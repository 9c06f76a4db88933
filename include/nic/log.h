// Logging to stderr. stdout is reserved for command results (JSON contract, design §9.2).
// Level from NIC_LOG: "debug", "info" (default), "warn", "error", "off".
// Never pass secrets here; HTTP debug logging redacts them before calling Log.
#pragma once

#include <string>

namespace nic {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

LogLevel CurrentLogLevel();
bool LogEnabled(LogLevel level);
// Writes "nic: <level>: <message>\n" to stderr (info lines as "nic: <message>") when enabled.
void Log(LogLevel level, const std::string& message);

// Test seam: capture every line instead of writing it to stderr (nullptr restores stderr).
using LogSink = void (*)(LogLevel level, const std::string& line, void* arg);
void SetLogSinkForTest(LogSink sink, void* arg);

}  // namespace nic
