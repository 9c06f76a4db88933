#include "nic/state_manager.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <random>

#include "nic/crypto.h"
#include "nic/env.h"
#include "nic/log.h"
#include "nic/version.h"

namespace nic {
namespace {


}  // namespace

StateManager::StateManager(Backend* backend, StateManagerOptions options)
    : backend_(backend),
      options_(options),
      env_(options.env ? options.env : Env::Default()),
      encryption_(options.encryption ? options.encryption : &no_encryption_) {}

StateManager::~StateManager() {
  if (held_) {
    Status st = Unlock();
    if (!st.ok()) Log(LogLevel::kWarn, "could not release the state lock " + held_->id + ": " + st.message());
  }
}

Result<std::string> StateManager::Lock(const std::string& operation, const std::string& info) {
  if (held_) return held_->id;
  LockInfo li = LockInfo::New(operation, env_);
  li.info = info;
  li.path = backend_->Location();
  const int64_t start = env_->NowMicros();
  // Backoff: short first steps so short contention resolves fast, doubling to 2 s, with full
  // jitter so waiters do not retry in lockstep.
  int64_t delay = 20000;
  std::mt19937_64 rng(std::random_device{}());
  bool announced = false;
  for (;;) {
    Status st = backend_->Lock(li);
    if (st.ok()) {
      held_ = li;
      return li.id;
    }
    if (st.code() != ErrorCode::kLockHeld) return st;
    int64_t waited = env_->NowMicros() - start;
    if (waited >= options_.lock_timeout_micros) {
      if (options_.lock_timeout_micros > 0) {
        st.Prepend("gave up waiting for the state lock after " + std::to_string(options_.lock_timeout_micros / 1000000) + "s");
      }
      return st;
    }
    if (!announced) {
      Log(LogLevel::kInfo, "waiting for the state lock: " + st.message());
      announced = true;
    }
    int64_t sleep = std::uniform_int_distribution<int64_t>(delay / 2, delay)(rng);
    sleep = std::min(sleep, options_.lock_timeout_micros - waited);
    env_->SleepMicros(sleep);
    delay = std::min<int64_t>(delay * 2, 2000000);
  }
}

Status StateManager::Unlock() {
  if (!held_) return Status::OK();
  Status st = backend_->Unlock(held_->id);
  if (st.ok()) held_.reset();
  return st;
}

Result<std::optional<StateDocument>> StateManager::Read(ParseNotes* notes) {
  NIC_ASSIGN_OR_RETURN(StateBlob blob, backend_->ReadState());
  have_read_ = true;
  if (!blob.exists) {
    read_info_ = DecodeInfo{};
    read_token_ = "";
    stored_.reset();
    return std::optional<StateDocument>();
  }
  DecodeInfo info;
  std::string plain;
  // A plaintext state is parsed where the backend read it (its buffer keeps the parser's
  // padding: Env::ReadFile reserves it), without a copy through Decode.
  if (IsEncryptedState(blob.bytes)) {
    NIC_ASSIGN_OR_RETURN(plain, encryption_->DecodeEnvelope(blob.bytes, backend_->Location(), &info));
  } else {
    NIC_RETURN_IF_ERROR(encryption_->CheckPlaintextRead(backend_->Location()));
  }
  ParseNotes local;
  auto doc = info.encrypted ? ParseStateDocument(plain, backend_->Location(), notes ? notes : &local)
                            : ParseStateDocument(blob.bytes, backend_->Location(), notes ? notes : &local, blob.bytes.capacity());
  if (!plain.empty() && info.encrypted) OPENSSL_cleanse(plain.data(), plain.size());
  if (!doc.ok()) return doc.status();
  read_info_ = info;
  read_token_ = blob.version_token;
  stored_ = StoredVersion{doc->lineage, doc->serial};
  if (options_.history != nullptr) {
    // A writer killed between its state write and its history insert leaves a committed
    // version the history lacks; the next reader records it, so history stays complete.
    auto have = options_.history->HasVersion(doc->lineage, static_cast<int64_t>(doc->serial));
    if (have.ok() && !have.value()) {
      HistoryVersion v;
      v.serial = static_cast<int64_t>(doc->serial);
      v.lineage = doc->lineage;
      v.sha256 = crypto::Sha256Hex(blob.bytes);
      v.created_at = doc->metadata.updated_at;
      v.operation = "recorded on read";
      v.who = "unknown";
      v.backend = backend_->Location();
      v.document = blob.bytes;
      Status st = options_.history->RecordVersion(v);
      if (!st.ok()) Log(LogLevel::kWarn, "could not record state serial " + std::to_string(v.serial) + " in history: " + st.message());
    }
  }
  return std::optional<StateDocument>(std::move(doc).value());
}

Status StateManager::Persist(StateDocument& doc, const std::string& operation) {
  if (!held_) {
    return Status::Internal("state write without holding the lock (operation " + operation + ")");
  }
  if (!have_read_) {
    auto r = Read();
    if (!r.ok()) return r.status();
  }
  if (stored_) {
    if (doc.lineage != stored_->lineage) {
      return Status::Conflict("refusing to write state with lineage " + doc.lineage + " over the stored state with lineage " +
                              stored_->lineage + " (" + backend_->Location() + ")")
          .WithSuggestion("these are unrelated states; check --state/--backend-config, or use nic state push --force");
    }
    doc.serial = stored_->serial + 1;
  } else {
    if (doc.lineage.empty()) doc.lineage = NewUuid();
    doc.serial = 1;
  }
  const std::string now = FormatRfc3339(env_->NowMicros());
  doc.version = kNicVersion;
  doc.format_version = kStateFormatVersion;
  doc.metadata.nic_version = kNicVersion;
  if (doc.metadata.created_at.empty()) doc.metadata.created_at = now;
  doc.metadata.updated_at = now;
  NIC_RETURN_IF_ERROR(ValidateStateDocument(doc, backend_->Location()));
  std::string bytes_sha256;  // computed with the checksum, passed on instead of hashing again
  NIC_ASSIGN_OR_RETURN(std::string bytes, EncodeForBackend(doc, &bytes_sha256));
  WriteCondition cond;
  cond.expected_version_token = read_token_.value_or("");
  cond.bytes_sha256 = bytes_sha256;
  auto token = backend_->WriteState(bytes, cond);
  if (!token.ok()) {
    Status st = token.status();
    if (st.code() == ErrorCode::kConflict) {
      st.WithSuggestion("another writer changed the state since it was read (was the lock force-broken?); re-run the command");
    }
    return st;
  }
  read_token_ = token.value();
  stored_ = StoredVersion{doc.lineage, doc.serial};
  read_info_.encrypted = encryption_->writes_encrypted();
  Status recorded = RecordHistory(bytes, doc, operation, bytes_sha256);
  last_written_ = std::move(bytes);
  return recorded;
}

Status StateManager::Push(const StateDocument& doc_in, bool force, const std::string& operation) {
  if (!held_) return Status::Internal("state push without holding the lock");
  NIC_ASSIGN_OR_RETURN(std::optional<StateDocument> current, Read());
  StateDocument doc = doc_in;
  doc.format_version = kStateFormatVersion;
  if (current && !force) {
    // Terraform's rules (statemgr.CheckValidImport), so habits carry over.
    if (doc.lineage != current->lineage) {
      return Status::Conflict("cannot push state with lineage " + doc.lineage + " over unrelated state with lineage " +
                              current->lineage)
          .WithSuggestion("if you really mean to replace it, use nic state push --force (the old state stays in history)");
    }
    if (doc.serial < current->serial) {
      return Status::Conflict("cannot push serial " + std::to_string(doc.serial) + ": the stored state is newer (serial " +
                              std::to_string(current->serial) + ")")
          .WithSuggestion("pull the current state (nic state pull), apply your change to it, and push that");
    }
    if (doc.serial == current->serial && SerializeStateDocument(doc) != SerializeStateDocument(*current)) {
      return Status::Conflict("cannot push a different state with the same serial " + std::to_string(doc.serial))
          .WithSuggestion("increase the serial of the pushed document, or use --force");
    }
    if (doc.serial == current->serial) return Status::OK();  // identical: nothing to do
  }
  NIC_RETURN_IF_ERROR(ValidateStateDocument(doc, "pushed state"));
  NIC_ASSIGN_OR_RETURN(std::string bytes, EncodeForBackend(doc));
  WriteCondition cond;
  cond.expected_version_token = read_token_.value_or("");
  NIC_ASSIGN_OR_RETURN(std::string token, backend_->WriteState(bytes, cond));
  read_token_ = token;
  last_written_ = bytes;
  stored_ = StoredVersion{doc.lineage, doc.serial};
  read_info_.encrypted = encryption_->writes_encrypted();
  return RecordHistory(bytes, doc, operation + (force ? " --force" : ""));
}

Result<std::string> StateManager::EncodeForBackend(const StateDocument& doc, std::string* bytes_sha256) {
  NIC_RETURN_IF_ERROR(encryption_->CheckPlaintextWrite(read_info_.encrypted, backend_->Location()));
  if (!encryption_->writes_encrypted()) return SerializeStateDocument(doc, bytes_sha256);
  std::string plain = SerializeStateDocument(doc);
  auto sealed = encryption_->Encode(plain, doc.lineage, doc.serial, doc.format_version);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!sealed.ok()) {
    Status st = sealed.status();
    return st.Prepend("encrypting the state for " + backend_->Location() + " (nothing was written)");
  }
  return sealed;
}

Result<int> StateManager::SealPlaintextCopies() {
  if (!held_) return Status::Internal("sealing state copies without holding the lock");
  if (last_written_.empty() || !stored_ || !encryption_->writes_encrypted() || !IsEncryptedState(last_written_)) {
    return Status::Internal("sealing state copies before an encrypted write");
  }
  WriteCondition cond;
  cond.expected_version_token = read_token_.value_or("");
  NIC_ASSIGN_OR_RETURN(std::string token, backend_->WriteState(last_written_, cond));
  read_token_ = token;
  if (options_.history == nullptr) return 0;
  NIC_ASSIGN_OR_RETURN(std::vector<HistoryVersion> versions, options_.history->ListVersions(stored_->lineage, 1000000));
  int sealed = 0;
  for (const auto& listed : versions) {
    NIC_ASSIGN_OR_RETURN(HistoryVersion v, options_.history->GetVersion(listed.lineage, listed.serial));
    if (IsEncryptedState(v.document)) continue;
    auto doc = ParseStateDocument(v.document, "history serial " + std::to_string(v.serial));
    const int format = doc.ok() ? doc->format_version : 0;
    NIC_ASSIGN_OR_RETURN(std::string bytes,
                         encryption_->Encode(v.document, v.lineage, static_cast<uint64_t>(v.serial), format));
    NIC_RETURN_IF_ERROR(options_.history->ReplaceDocument(v.lineage, v.serial, bytes, crypto::Sha256Hex(bytes)));
    ++sealed;
  }
  return sealed;
}

Result<StateDocument> StateManager::ParseStored(std::string_view stored, const std::string& source) {
  NIC_ASSIGN_OR_RETURN(std::string plain, encryption_->Decode(stored, source, nullptr, /*allow_plaintext=*/true));
  return ParseStateDocument(plain, source);
}

Status StateManager::RecordHistory(const std::string& bytes, const StateDocument& doc, const std::string& operation,
                                   const std::string& bytes_sha256) {
  if (options_.history == nullptr) return Status::OK();
  HistoryVersion v;
  v.serial = static_cast<int64_t>(doc.serial);
  v.lineage = doc.lineage;
  v.sha256 = bytes_sha256.empty() ? crypto::Sha256Hex(bytes) : bytes_sha256;
  v.created_at = doc.metadata.updated_at;
  v.operation = operation;
  v.who = held_ ? held_->who : env_->WhoAmI();
  v.backend = backend_->Location();
  v.document = bytes;
  Status st = options_.history->RecordVersion(v);
  if (!st.ok()) {
    // The state itself is safely written; losing the history row must not turn a committed
    // change into a reported failure, but the user has to know.
    Log(LogLevel::kWarn, "state serial " + std::to_string(doc.serial) + " was written, but recording it in the history database failed: " +
                             st.message());
  }
  return Status::OK();
}

}  // namespace nic
