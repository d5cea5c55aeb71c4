// ScopeGuard: runs a function at scope exit unless cancel()ed
// (commit-on-success).
#pragma once

#include <utility>

namespace ktstr {

template <typename F>
class ScopeGuard {
 public:
  explicit ScopeGuard(F f) : f_(std::move(f)) {}
  ~ScopeGuard() {
    if (active_) f_();
  }
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  void cancel() { active_ = false; }

 private:
  F f_;
  bool active_ = true;
};

}  // namespace ktstr
