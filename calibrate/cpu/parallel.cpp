#include "calibrate/cpu/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace zerosim::calib::cpu {

namespace {

class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  void run(int64_t rows, const std::function<void(int64_t, int64_t)>& body) {
    std::lock_guard<std::mutex> serial(run_mu_);  // one loop at a time
    {
      std::lock_guard<std::mutex> lock(mu_);
      body_ = &body, rows_ = rows, pending_ = threads() - 1, ++generation_;
    }
    wake_.notify_all();
    slice(0, body, rows);  // the caller does its own share
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return pending_ == 0; });
    body_ = nullptr;
  }

 private:
  void slice(int index, const std::function<void(int64_t, int64_t)>& body, int64_t rows) const {
    const int64_t n = threads(), chunk = (rows + n - 1) / n;
    const int64_t begin = std::min(rows, index * chunk), end = std::min(rows, begin + chunk);
    if (begin < end) body(begin, end);
  }
  void work(int index) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t, int64_t)>* body = nullptr;
      int64_t rows = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_, body = body_, rows = rows_;
      }
      slice(index, *body, rows);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex run_mu_, mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t rows_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return p;
}

// Below this many rows the wake-up costs more than the loop.
constexpr int64_t kMinParallelRows = 16;

}  // namespace

void parallel_ranges(int64_t rows, const std::function<void(int64_t, int64_t)>& body) {
  if (rows <= 0) return;
  if (rows < kMinParallelRows || pool().threads() == 1) {
    body(0, rows);
    return;
  }
  pool().run(rows, body);
}

int elementwise_threads() { return pool().threads(); }

}  // namespace zerosim::calib::cpu
