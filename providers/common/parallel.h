// Internal to the cloud providers: running independent calls with bounded parallelism.
#pragma once

#include <cstddef>
#include <functional>

namespace nic::tableprov {

// Calls f(0) .. f(n-1) on at most `parallelism` threads (inline when that is 1 or n <= 1). An
// exception from f is swallowed in its worker, so the caller's result slot for that item keeps
// its "not done" error and the process does not end from a worker thread.
void ParallelFor(int parallelism, size_t n, const std::function<void(size_t)>& f);

}  // namespace nic::tableprov
