#include "providers/common/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace nic::tableprov {

void ParallelFor(int parallelism, size_t n, const std::function<void(size_t)>& f) {
  const size_t workers = std::min<size_t>(std::max(1, parallelism), n);
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) {
        try {
          f(i);
        } catch (...) {
        }
      }
    });
  }
  for (auto& t : pool) t.join();
}

}  // namespace nic::tableprov
