// The contention soak every backend runs: lock/read/modify/write/unlock cycles from many
// processes, with a journal that proves no two lock holders overlapped.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "nic/backend.h"
#include "nic/status.h"

namespace nic::testing {

// Appends `line` to `path` with O_APPEND (atomic for short lines across processes).
Status AppendLine(const std::string& path, const std::string& line);

// One cycle through StateManager on `backend`: lock (waiting up to `lock_timeout_micros`),
// write "B <pid>" to `journal`, read, increment metadata.deploy_count (the counter whose
// increments must never be lost), persist with history in `history_path`, write "E <pid>",
// unlock. Without a state it starts one when `create_if_missing`, else it fails. However the
// cycle ends after the lock, "E <pid>" is written before the lock is released. When the write
// committed, `committed_serial` (if given) receives its serial, even if the unlock then failed.
Status SoakCycle(Backend* backend, const std::string& history_path, const std::string& journal,
                 int64_t lock_timeout_micros, bool create_if_missing, uint64_t* committed_serial = nullptr);

// Every "B pid" in `journal` is followed by the "E pid" of the same process: the holders never
// overlapped. `pairs` receives the number of holds.
::testing::AssertionResult ExclusiveHolds(const std::string& journal, int* pairs);

}  // namespace nic::testing
