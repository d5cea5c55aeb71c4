// TempDir: a private directory removed (recursively) on destruction.
#pragma once

#include <filesystem>
#include <string>

#include "util/result.h"

namespace ktstr {

class TempDir {
 public:
  // Creates <base>/<prefix>XXXXXX; base defaults to $TMPDIR or /tmp.
  static Result<TempDir> create(const std::string& prefix,
                                const std::filesystem::path& base = {});
  TempDir() = default;
  ~TempDir();
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Keeps the directory on disk (for post-mortem); returns its path.
  std::filesystem::path release();

 private:
  explicit TempDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

}  // namespace ktstr
