// transfer/pipeline.hpp — the bounded hand-off between the SQLite reader thread and
// the PostgreSQL writer. Internal to the transfer layer.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "keel/value.hpp"

namespace keel::transfer {

// Rows already coerced for their target columns.
struct Batch {
  std::vector<std::vector<Value>> rows;
  std::int64_t bytes = 0;
};

// At most `capacity` batches wait: the reader blocks when the writer falls behind,
// so memory does not grow with the table.
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Blocks while full; false when the queue was cancelled (the batch is dropped).
  bool push(Batch batch) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return cancelled_ || queue_.size() < capacity_; });
    if (cancelled_) return false;
    queue_.push_back(std::move(batch));
    not_empty_.notify_one();
    return true;
  }
  // Blocks while empty; nullopt once closed and drained, or cancelled.
  std::optional<Batch> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return cancelled_ || closed_ || !queue_.empty(); });
    if (cancelled_ || queue_.empty()) return std::nullopt;
    Batch b = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return b;
  }
  // The reader is done: pop() returns what is left, then nullopt.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }
  // Either side gave up: both stop waiting, what is queued is dropped.
  void cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    queue_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  bool cancelled() const {
    std::lock_guard lock(mutex_);
    return cancelled_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> queue_;
  std::size_t capacity_;
  bool closed_ = false;
  bool cancelled_ = false;
};

}  // namespace keel::transfer
