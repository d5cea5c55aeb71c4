#include "util/temp_dir.h"

#include <cstdlib>
#include <system_error>

namespace ktstr {

Result<TempDir> TempDir::create(const std::string& prefix, const std::filesystem::path& base) {
  std::filesystem::path dir = base;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    dir = (t && *t) ? t : "/tmp";
  }
  std::string templ = (dir / (prefix + "XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) return io_error("cannot create temp dir in " + dir.string());
  return TempDir(std::filesystem::path(templ));
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
    path_ = std::move(o.path_);
    o.path_.clear();
  }
  return *this;
}

std::filesystem::path TempDir::release() {
  auto p = std::move(path_);
  path_.clear();
  return p;
}

}  // namespace ktstr
