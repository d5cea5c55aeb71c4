// compress_kallsyms(): the guest side of the KALLSYMS message. Kept apart
// from symbols.cpp so the static agent links zstd alone.
#include <zstd.h>

#include <string>

#include "ksyms/symbols.h"

namespace ktstr::ksyms {

Result<std::vector<uint8_t>> compress_kallsyms(std::string_view text, int level) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
    return invalid_argument("zstd level " + std::to_string(level) + " out of range [" +
                            std::to_string(ZSTD_minCLevel()) + ", " +
                            std::to_string(ZSTD_maxCLevel()) + "]");
  std::vector<uint8_t> out(ZSTD_compressBound(text.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), level);
  if (ZSTD_isError(n))
    return Error(Errc::kInternal, std::string("compressing kallsyms: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

}  // namespace ktstr::ksyms
