// nic state encrypt|decrypt: switch an existing state into or out of client-side encryption.
// Each writes exactly one new serial under the lock, recorded in history; keys come from the
// NIC_STATE_* variables (state_encryption_config.h).
#include "src/cli/cmd_state_encryption.h"

namespace nic::cli {
namespace {

// Lock, read, persist one new serial, unlock, read back. Returns the document read before.
// With `seal_copies`, also seals the plaintext copies an unencrypted state left behind.
Result<StateDocument> Rewrite(StateContext& ctx, const std::string& operation, StateDocument* written, DecodeInfo* before,
                              DecodeInfo* after, int* sealed_versions = nullptr) {
  NIC_ASSIGN_OR_RETURN(std::string lock_id, ctx.manager->Lock(operation));
  (void)lock_id;
  NIC_ASSIGN_OR_RETURN(std::optional<StateDocument> doc, ctx.manager->Read());
  if (!doc) {
    return Status::NotFound("no state exists at " + ctx.backend->Location())
        .WithSuggestion("point at the right state with --state / --backend / --backend-config");
  }
  *before = ctx.manager->last_read_encryption();
  StateDocument previous = *doc;
  *written = *doc;
  Status st = ctx.manager->Persist(*written, operation);
  if (st.ok() && sealed_versions != nullptr && !before->encrypted) {
    auto n = ctx.manager->SealPlaintextCopies();
    if (n.ok()) {
      *sealed_versions = n.value();
    } else {
      st = n.status();
      st.Prepend("serial " + std::to_string(written->serial) + " is written encrypted, but sealing the earlier plaintext copies failed; run nic state encrypt again");
    }
  }
  Status un = ctx.manager->Unlock();
  NIC_RETURN_IF_ERROR(st);
  NIC_RETURN_IF_ERROR(un);
  // Read back through the layer: proves the new version opens with the configured key.
  NIC_ASSIGN_OR_RETURN(std::optional<StateDocument> back, ctx.manager->Read());
  if (!back || back->serial != written->serial) {
    return Status::Internal("the state read back from " + ctx.backend->Location() + " is not the version just written");
  }
  *after = ctx.manager->last_read_encryption();
  return previous;
}

nlohmann::json SwitchJson(const StateDocument& prev, const StateDocument& now, const DecodeInfo& before, const DecodeInfo& after) {
  return {{"success", true},
          {"lineage", now.lineage},
          {"previous_serial", prev.serial},
          {"serial", now.serial},
          {"was_encrypted", before.encrypted},
          {"previous_key_provider", before.key_provider},
          {"previous_key_id", before.key_id},
          {"read_with_fallback_key", before.used_fallback},
          {"encrypted", after.encrypted},
          {"key_provider", after.key_provider},
          {"key_id", after.key_id}};
}

}  // namespace

int RunStateEncrypt(const Invocation& inv) {
  cxxopts::Options options("nic state encrypt",
                           "Encrypt the state with the primary key (NIC_STATE_PASSPHRASE, NIC_STATE_KEY or "
                           "NIC_STATE_KMS_KEY_ID): reads it (plaintext, or encrypted with the primary or fallback key) "
                           "and writes one new serial encrypted with the primary key. Also completes a key rotation.");
  int rc = 0;
  auto o = PrepareStateCommand(options, inv, &rc);
  if (!o) return rc;
  if (!o->ctx.encryption || !o->ctx.encryption->writes_encrypted()) {
    return ReportError(Status::Usage("nic state encrypt needs a primary state encryption key")
                           .WithSuggestion("set one of NIC_STATE_PASSPHRASE, NIC_STATE_KEY or NIC_STATE_KMS_KEY_ID "
                                           "(see docs/BACKENDS.md, \"State encryption\")"),
                       o->format);
  }
  o->ctx.encryption->set_allow_plaintext_read(true);
  StateDocument now;
  DecodeInfo before, after;
  int sealed = 0;
  auto prev = Rewrite(o->ctx, "state encrypt", &now, &before, &after, &sealed);
  if (!prev.ok()) return ReportError(prev.status(), o->format);
  if (o->format == OutputFormat::kJson) {
    nlohmann::json j = SwitchJson(*prev, now, before, after);
    j["sealed_history_versions"] = sealed;
    PrintJson(j);
  } else {
    std::cout << (before.encrypted ? "Re-encrypted" : "Encrypted") << " the state at " << o->ctx.backend->Location()
              << ": serial " << now.serial << " (was " << prev->serial << ") is sealed with " << after.key_provider
              << " key " << after.key_id << ".\n";
    if (!before.encrypted) {
      std::cout << "Sealed " << sealed << " earlier plaintext version(s) in the history database. Copies kept outside "
                   "NIC (object versions of a versioned bucket, other backups) are not touched; see docs/BACKENDS.md, "
                   "\"State encryption\".\n";
    }
  }
  return 0;
}

int RunStateDecrypt(const Invocation& inv) {
  cxxopts::Options options("nic state decrypt",
                           "Store the state unencrypted again: reads it with the configured key (primary or fallback) "
                           "and writes one new, plaintext serial.");
  int rc = 0;
  auto o = PrepareStateCommand(options, inv, &rc);
  if (!o) return rc;
  if (!o->ctx.encryption) {
    return ReportError(Status::Usage("nic state decrypt needs the key the state is encrypted with")
                           .WithSuggestion("set NIC_STATE_PASSPHRASE, NIC_STATE_KEY or NIC_STATE_KMS_KEY_ID (see "
                                           "docs/BACKENDS.md, \"State encryption\")"),
                       o->format);
  }
  o->ctx.encryption->set_write_plaintext(true);
  o->ctx.encryption->set_allow_plaintext_read(true);
  StateDocument now;
  DecodeInfo before, after;
  auto prev = Rewrite(o->ctx, "state decrypt", &now, &before, &after);
  if (!prev.ok()) return ReportError(prev.status(), o->format);
  if (o->format == OutputFormat::kJson) {
    PrintJson(SwitchJson(*prev, now, before, after));
  } else {
    std::cout << "Decrypted the state at " << o->ctx.backend->Location() << ": serial " << now.serial << " (was "
              << prev->serial << ") is stored unencrypted. Unset the NIC_STATE_* key variables, or the next command "
              << "will refuse the plaintext state.\n";
  }
  return 0;
}

}  // namespace nic::cli
