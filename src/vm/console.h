// ConsoleLog: turns the guest's serial console byte stream into lines,
// appends the raw bytes to a log file, keeps the last lines in memory and
// records kernel panic / oops / BUG lines. Thread-safe: Machine's reader
// thread feeds it while others read the tail.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.h"

namespace ktstr::vm {

// Substrings that mark a kernel crash on the console.
inline constexpr std::string_view kPanicMarkers[] = {"Kernel panic - not syncing",
                                                     "end Kernel panic", "BUG:", "Oops:"};

class ConsoleLog {
 public:
  static constexpr size_t kTailLines = 200;
  static constexpr size_t kMaxLine = 4096;  // longer lines are split
  static constexpr size_t kMaxIncidents = 32;

  // `log_fd` (may be invalid) receives every byte; on_line sees each line
  // without its line ending.
  explicit ConsoleLog(UniqueFd log_fd = {},
                      std::function<void(std::string_view)> on_line = nullptr);

  void feed(std::string_view bytes);
  // Flushes a final unterminated line (at EOF).
  void finish();

  std::vector<std::string> tail() const;
  // The first crash line seen ("Kernel panic - not syncing: ..."), if any.
  std::optional<std::string> panic_message() const;
  // Every crash line seen, oldest first (capped at kMaxIncidents).
  std::vector<std::string> incidents() const;

 private:
  void emit_line(const std::string& line);

  UniqueFd log_fd_;
  std::function<void(std::string_view)> on_line_;
  mutable std::mutex mu_;
  std::string partial_;
  std::deque<std::string> tail_;
  std::vector<std::string> incidents_;
};

}  // namespace ktstr::vm
