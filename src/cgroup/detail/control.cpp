#include "cgroup/detail/control.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <thread>

#include "util/fd.h"
#include "util/files.h"

namespace ktstr::cgroup::detail {

namespace fs = std::filesystem;

namespace {

// Large enough for the root's cgroup.procs on a big host.
constexpr size_t kMaxControlFile = 16u << 20;

bool has_line(std::string_view text, std::string_view key, std::string_view value) {
  for (const auto& line : split(text, '\n')) {
    auto words = split(trim(line), ' ');
    if (words.size() == 2 && words[0] == key && words[1] == value) return true;
  }
  return false;
}

}  // namespace

Status write_control(const fs::path& file, std::string_view value) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error("cannot open " + file.string());
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return io_error("cannot write '" + std::string(trim(value)) + "' to " + file.string());
  return {};
}

Result<std::string> read_control(const fs::path& file) {
  return read_file_limited(file, kMaxControlFile);
}

Result<std::vector<std::string>> read_words(const fs::path& file) {
  KTSTR_ASSIGN(auto text, read_control(file));
  std::vector<std::string> words;
  for (char& c : text)
    if (c == '\n' || c == '\t') c = ' ';
  for (auto& w : split(trim(text), ' '))
    if (!w.empty()) words.push_back(std::move(w));
  return words;
}

Result<std::vector<pid_t>> read_pids(const fs::path& file) {
  KTSTR_ASSIGN(auto words, read_words(file));
  std::vector<pid_t> pids;
  for (const auto& w : words) {
    pid_t pid = 0;
    auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), pid);
    if (ec != std::errc() || p != w.data() + w.size())
      return protocol_error(file.string() + ": '" + w + "' is not a pid");
    pids.push_back(pid);
  }
  return pids;
}

Result<bool> event_is(const fs::path& dir, std::string_view key, std::string_view value) {
  KTSTR_ASSIGN(auto text, read_control(dir / "cgroup.events"));
  return has_line(text, key, value);
}

Status wait_event(const fs::path& dir, std::string_view key, std::string_view value,
                  Clock::time_point deadline) {
  auto file = dir / "cgroup.events";
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error("cannot open " + file.string());
  char buf[256];
  while (true) {
    // kernfs notifies with POLLPRI after each change; reading re-arms it.
    if (::lseek(fd.get(), 0, SEEK_SET) < 0) return io_error("cannot rewind " + file.string());
    ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read " + file.string());
    }
    if (has_line(std::string_view(buf, static_cast<size_t>(n)), key, value)) return {};
    auto now = Clock::now();
    if (now >= deadline)
      return timeout_error(file.string() + " never showed '" + std::string(key) + " " +
                           std::string(value) + "'");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    pollfd p{fd.get(), POLLPRI, 0};
    ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left, 1, 50)));
  }
}

void backoff(int& attempt) {
  auto ms = std::chrono::milliseconds(1 << std::min(attempt, 5));  // 1..32ms
  ++attempt;
  std::this_thread::sleep_for(std::min(ms, std::chrono::milliseconds(50)));
}

bool is_cgroup2(const fs::path& dir) {
  struct statfs st {};
  return ::statfs(dir.c_str(), &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

fs::path hierarchy_root(const fs::path& dir) {
  fs::path p = fs::absolute(dir).lexically_normal();
  if (p.has_filename() == false && p != p.root_path()) p = p.parent_path();
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return p;
  while (p != p.root_path()) {
    struct stat up {};
    if (::stat(p.parent_path().c_str(), &up) != 0 || up.st_dev != st.st_dev) break;
    p = p.parent_path();
  }
  return p;
}

Status validate_name(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return invalid_argument("cgroup name '" + std::string(name) + "': " + why +
                            " (use letters, digits, '_', '.', '-'; nest with '/', e.g. "
                            "'parent/child')");
  };
  if (name.empty()) return bad("empty");
  for (const auto& comp : split(name, '/')) {
    if (comp.empty()) return bad("empty path component");
    if (comp == "." || comp == "..") return bad("'" + comp + "' is not allowed");
    if (comp.size() > 255) return bad("component longer than 255 characters");
    for (char c : comp) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == '-';
      if (!ok) return bad("character '" + std::string(1, c) + "' is not allowed");
    }
  }
  return {};
}

}  // namespace ktstr::cgroup::detail
