#include "nic/lock.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "nic/env.h"
#include "nic/json_limits.h"
#include "nic/version.h"

namespace nic {

std::string NewUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // RAND_bytes draws from the OS CSPRNG; failing here means the OS cannot give randomness,
    // and a predictable lock ID would defeat force-unlock's nonce. Fall back to /dev/urandom.
    FILE* f = std::fopen("/dev/urandom", "rb");
    if (f == nullptr || std::fread(b, 1, sizeof b, f) != sizeof b) std::abort();
    std::fclose(f);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

LockInfo LockInfo::New(std::string operation, Env* env) {
  if (env == nullptr) env = Env::Default();
  LockInfo li;
  li.id = NewUuid();
  li.operation = std::move(operation);
  li.who = env->WhoAmI();
  li.version = kNicVersion;
  li.created = FormatRfc3339(env->NowMicros());
  li.pid = static_cast<int64_t>(::getpid());
  return li;
}

std::string LockInfo::ToJson() const {
  nlohmann::ordered_json j;
  j["ID"] = id;
  j["Operation"] = operation;
  j["Info"] = info;
  j["Who"] = who;
  j["Version"] = version;
  j["Created"] = created;
  j["Path"] = path;
  j["PID"] = pid;
  return j.dump();
}

Result<LockInfo> LockInfo::FromJson(std::string_view text, const std::string& source) {
  NIC_RETURN_IF_ERROR(CheckJsonDepth(text, source));
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::InvalidInput(source + ": lock information is not valid JSON")
        .WithSuggestion("the lock record may be corrupt; inspect it, then remove it with `nic state unlock --force <ID>`");
  }
  if (!j.is_object()) return Status::InvalidInput(source + ": lock information must be a JSON object");
  LockInfo li;
  auto str = [&](const char* key, std::string* out, bool required) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) return Status::InvalidInput(source + ": lock information lacks the field \"" + std::string(key) + "\"");
      return Status::OK();
    }
    if (!it->is_string()) {
      return Status::InvalidInput(source + ": lock field \"" + std::string(key) + "\" must be a string, found " + it->type_name());
    }
    *out = it->get<std::string>();
    return Status::OK();
  };
  NIC_RETURN_IF_ERROR(str("ID", &li.id, true));
  NIC_RETURN_IF_ERROR(str("Operation", &li.operation, false));
  NIC_RETURN_IF_ERROR(str("Info", &li.info, false));
  NIC_RETURN_IF_ERROR(str("Who", &li.who, false));
  NIC_RETURN_IF_ERROR(str("Version", &li.version, false));
  NIC_RETURN_IF_ERROR(str("Created", &li.created, false));
  NIC_RETURN_IF_ERROR(str("Path", &li.path, false));
  if (auto it = j.find("PID"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer()) return Status::InvalidInput(source + ": lock field \"PID\" must be an integer");
    li.pid = it->get<int64_t>();
  }
  return li;
}

namespace {
std::string AgeText(const std::string& created, Env* env) {
  auto t = ParseRfc3339(created);
  if (!t) return "unknown age";
  int64_t secs = (env->NowMicros() - *t) / 1000000;
  if (secs < 0) secs = 0;
  char buf[64];
  if (secs < 120) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(secs));
  else if (secs < 7200) std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(secs / 60));
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(secs / 3600), static_cast<long long>((secs % 3600) / 60));
  return buf;
}
}  // namespace

std::string LockInfo::Describe(Env* env) const {
  if (env == nullptr) env = Env::Default();
  std::string s = "Lock Info:\n";
  s += "  ID:        " + id + "\n";
  s += "  Path:      " + path + "\n";
  s += "  Operation: " + operation + "\n";
  s += "  Who:       " + who + "\n";
  s += "  Version:   " + version + "\n";
  s += "  Created:   " + created + " (" + AgeText(created, env) + " ago)\n";
  if (pid != 0) s += "  PID:       " + std::to_string(pid) + "\n";
  s += "  Info:      " + info + "\n";
  return s;
}

Status LockHeldError(const LockInfo& h, const std::string& backend_name, Env* env) {
  if (env == nullptr) env = Env::Default();
  std::string msg = "the state is locked (" + backend_name + " backend): held by " +
                    (h.who.empty() ? "an unknown holder" : h.who) + " for operation \"" + h.operation +
                    "\" since " + (h.created.empty() ? "an unknown time" : h.created) + " (" +
                    AgeText(h.created, env) + " ago), lock ID " + h.id;
  Status st = Status::LockHeld(msg);
  st.WithDetail("lock_id", h.id)
      .WithDetail("who", h.who)
      .WithDetail("operation", h.operation)
      .WithDetail("created", h.created)
      .WithDetail("path", h.path)
      .WithDetail("backend", backend_name);
  if (h.pid != 0) st.WithDetail("pid", std::to_string(h.pid));
  st.WithSuggestion("wait for the other operation to finish, or retry with --lock-timeout 5m to wait for it")
      .WithSuggestion("if the holder is gone for good, run: nic state unlock --force " + h.id);
  return st;
}

}  // namespace nic
