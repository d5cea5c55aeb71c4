#include "util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "util/fd.h"

namespace ktstr {

Result<std::string> read_file_limited(const std::filesystem::path& path, size_t limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error("cannot open " + path.string());
  std::string out;
  char buf[65536];
  while (out.size() < limit) {
    ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, limit - out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read " + path.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const std::filesystem::path& path) {
  return read_file_limited(path, SIZE_MAX);
}

Status write_all(int fd, std::span<const uint8_t> data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write failed");
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

Status write_all(int fd, std::string_view data) {
  return write_all(fd, std::span<const uint8_t>(
                           reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Status write_file(const std::filesystem::path& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error("cannot create " + path.string());
  KTSTR_TRY(write_all(fd.get(), data), "writing " + path.string());
  return {};
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view data) {
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  KTSTR_TRY(write_file(tmp, data));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = io_error("cannot rename " + tmp.string() + " to " + path.string());
    ::unlink(tmp.c_str());
    return err;
  }
  return {};
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    auto pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace ktstr
