// Process-wide thread pool (see threadpool.h).
//
// - Workers are created lazily, on the first parallel_for that wants them, and never
//   joined: the pool is a `new`-ed singleton and the threads are detached, so process
//   exit (or addon unload) never waits for them.
// - One parallel_for owns the pool at a time (try_lock on `run_mu`); a concurrent caller
//   does not wait, it runs all of its chunks inline, serially.
// - Hand-off spins before it sleeps: a worker that finished a job polls for the next
//   one for up to kSpinMicros, and the caller polls for the workers' completion the
//   same way, before either blocks on a condition variable. Back-to-back ops (a
//   network's layers, a training step's kernels) are typically 10-500 us apart, and a
//   futex wake-up on a VM costs tens of microseconds, enough for the caller to claim
//   every chunk itself; then two threads ran no faster than one.
// - The caller participates; chunks are claimed with an atomic counter.
// - fn must not throw: an exception escaping fn on a worker terminates the process,
//   and on the caller's thread it would leave workers running on a dead job.
#include "threadpool.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace bg {
namespace cpu {

namespace {

constexpr int64_t kSpinMicros = 150;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls done() for up to kSpinMicros; true when it became true.
template <class F>
bool spin_until(F done) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= end) return done();
  }
}

int threads_from_env() {
  const char* e = std::getenv("BITGRAD_NUM_THREADS");
  if (e && *e) {
    char* end = nullptr;
    const long v = std::strtol(e, &end, 10);
    if (end != e && *end == '\0' && v >= 1) return v > 1024 ? 1024 : static_cast<int>(v);
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc >= 1 ? static_cast<int>(hc) : 1;
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> n{threads_from_env()};
  return n;
}

class Pool {
 public:
  // Runs fn over [0, chunks) with up to `helpers` worker threads besides the caller.
  // Returns false (nothing run) when another parallel_for owns the pool.
  bool run(size_t chunks, const std::function<void(size_t)>& fn, int helpers) {
    std::unique_lock<std::mutex> owner(run_mu_, std::try_to_lock);
    if (!owner.owns_lock()) return false;
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (static_cast<int>(spawned_) < helpers) {
        if (!spawn_locked()) break;
      }
      if (helpers > spawned_) helpers = spawned_;
      fn_ = &fn;
      chunks_ = chunks;
      next_.store(0, std::memory_order_relaxed);
      participants_ = helpers;
      active_.store(helpers, std::memory_order_relaxed);
      ++generation_;
      published_.store(generation_, std::memory_order_release);
      wake = helpers > 0 && sleepers_ > 0;
    }
    if (wake) work_cv_.notify_all();
    claim_chunks(fn, chunks);
    if (!spin_until([&] { return active_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mu_);
      caller_waiting_ = true;
      done_cv_.wait(lock, [&] { return active_.load(std::memory_order_acquire) == 0; });
      caller_waiting_ = false;
    }
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = nullptr;
    return true;
  }

 private:
  void claim_chunks(const std::function<void(size_t)>& fn, size_t chunks) {
    for (;;) {
      const size_t c = next_.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks) break;
      fn(c);
    }
  }

  // Called with mu_ held. A new worker starts at the current generation, so it takes
  // part in the next one.
  bool spawn_locked() {
    const int id = spawned_;
    const unsigned long long gen = generation_;
    try {
      std::thread t([this, id, gen] { worker(id, gen); });
      t.detach();
    } catch (...) {
      return false;  // no more threads: run with what we have
    }
    ++spawned_;
    return true;
  }

  void worker(int id, unsigned long long seen) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (generation_ == seen) {
        lock.unlock();
        spin_until([&] { return published_.load(std::memory_order_acquire) != seen; });
        lock.lock();
        // The predicate is checked under mu_, and run() reads sleepers_ under mu_
        // after publishing, so a job published between the spin and here is not missed.
        ++sleepers_;
        work_cv_.wait(lock, [&] { return generation_ != seen; });
        --sleepers_;
      }
      seen = generation_;
      if (id >= participants_) continue;
      const std::function<void(size_t)>* fn = fn_;
      const size_t chunks = chunks_;
      lock.unlock();
      claim_chunks(*fn, chunks);
      lock.lock();
      if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1 && caller_waiting_) done_cv_.notify_one();
    }
  }

  std::mutex run_mu_;  // held by the parallel_for that owns the pool
  std::mutex mu_;      // guards the job fields below
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  int spawned_ = 0;
  unsigned long long generation_ = 0;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t chunks_ = 0;
  int participants_ = 0;  // workers with id < participants_ join the current job
  int sleepers_ = 0;      // workers blocked on work_cv_
  bool caller_waiting_ = false;
  std::atomic<unsigned long long> published_{0};  // generation_, for spinning workers
  std::atomic<int> active_{0};                    // participants still running the job
  std::atomic<size_t> next_{0};
};

Pool& pool() {
  static Pool* p = new Pool();  // leaked on purpose: no destructor at exit
  return *p;
}

}  // namespace

int num_threads() { return thread_setting().load(std::memory_order_relaxed); }

void set_num_threads(int n) { thread_setting().store(n >= 1 ? n : 1, std::memory_order_relaxed); }

void parallel_for(size_t chunks, const std::function<void(size_t)>& fn) {
  if (chunks == 0) return;
  const int threads = num_threads();
  if (chunks > 1 && threads > 1) {
    const size_t want = chunks - 1 < static_cast<size_t>(threads - 1) ? chunks - 1 : static_cast<size_t>(threads - 1);
    if (pool().run(chunks, fn, static_cast<int>(want))) return;
  }
  for (size_t c = 0; c < chunks; ++c) fn(c);
}

}  // namespace cpu
}  // namespace bg
