// Test helpers shared by every test executable: temp dirs, running the real `nic` binary,
// locating ../shared test data.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/support/process.h"  // TempDir, ChildProcess, FreePort

namespace nic::testing {

struct ProcessResult {
  int exit_code = -1;  // 128+signal when killed
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is searched in PATH) with extra environment variables, optional stdin,
// and the working directory `cwd` (empty = current). Waits for it.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                         const std::string& stdin_data = "", const std::string& cwd = "");

// Runs the nic binary built with the tests.
ProcessResult RunNic(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                     const std::string& stdin_data = "", const std::string& cwd = "");

std::string NicBinary();
std::string SourceDir();
// ../shared (NIC_SHARED_DIR when set).
std::string SharedDir();

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& data);

}  // namespace nic::testing
