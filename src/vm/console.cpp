#include "vm/console.h"

#include "util/files.h"

namespace ktstr::vm {

ConsoleLog::ConsoleLog(UniqueFd log_fd, std::function<void(std::string_view)> on_line)
    : log_fd_(std::move(log_fd)), on_line_(std::move(on_line)) {}

void ConsoleLog::feed(std::string_view bytes) {
  // The log is best effort: a full disk must not stop the console reader.
  if (log_fd_.valid()) (void)write_all(log_fd_.get(), bytes);
  for (char c : bytes) {
    if (c == '\n') {
      emit_line(partial_);
      partial_.clear();
    } else if (c != '\r') {
      partial_ += c;
      if (partial_.size() >= kMaxLine) {
        emit_line(partial_);
        partial_.clear();
      }
    }
  }
}

void ConsoleLog::finish() {
  if (!partial_.empty()) {
    emit_line(partial_);
    partial_.clear();
  }
}

void ConsoleLog::emit_line(const std::string& line) {
  bool crash = false;
  for (auto marker : kPanicMarkers) crash = crash || line.find(marker) != std::string::npos;
  {
    std::lock_guard lock(mu_);
    if (crash && incidents_.size() < kMaxIncidents) incidents_.push_back(line);
    tail_.push_back(line);
    if (tail_.size() > kTailLines) tail_.pop_front();
  }
  if (on_line_) on_line_(line);
}

std::vector<std::string> ConsoleLog::tail() const {
  std::lock_guard lock(mu_);
  return {tail_.begin(), tail_.end()};
}

std::optional<std::string> ConsoleLog::panic_message() const {
  std::lock_guard lock(mu_);
  if (incidents_.empty()) return std::nullopt;
  return incidents_.front();
}

std::vector<std::string> ConsoleLog::incidents() const {
  std::lock_guard lock(mu_);
  return incidents_;
}

}  // namespace ktstr::vm
