#include "ksyms/symbols.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <bit>
#include <memory>

namespace ktstr::ksyms {

namespace {

constexpr size_t kMaxNameLen = 512;
constexpr size_t kMaxAddrDigits = 16;
constexpr size_t kBadLineNoteLen = 120;

struct Line {
  uint64_t addr = 0;
  std::string_view name;
  bool module = false;
};

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Next blank-separated token of `rest`, advancing it; empty at the end.
std::string_view next_token(std::string_view& rest) {
  size_t start = 0;
  while (start < rest.size() && is_blank(rest[start])) ++start;
  size_t end = start;
  while (end < rest.size() && !is_blank(rest[end])) ++end;
  std::string_view token = rest.substr(start, end - start);
  rest.remove_prefix(end);
  return token;
}

std::optional<uint64_t> parse_hex(std::string_view s) {
  if (s.empty() || s.size() > kMaxAddrDigits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    unsigned digit;
    if (c >= '0' && c <= '9') digit = unsigned(c - '0');
    else if (c >= 'a' && c <= 'f') digit = unsigned(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') digit = unsigned(c - 'A' + 10);
    else return std::nullopt;
    v = v << 4 | digit;
  }
  return v;
}

// nullopt = malformed.
std::optional<Line> parse_line(std::string_view line) {
  if (line.find('\0') != std::string_view::npos) return std::nullopt;
  std::string_view rest = line;
  std::string_view addr = next_token(rest);
  std::string_view type = next_token(rest);
  std::string_view name = next_token(rest);
  std::string_view module = next_token(rest);
  if (!next_token(rest).empty()) return std::nullopt;
  if (type.size() != 1 || name.empty() || name.size() > kMaxNameLen) return std::nullopt;
  if (!module.empty() && (module.size() < 3 || module.front() != '[' || module.back() != ']'))
    return std::nullopt;
  auto value = parse_hex(addr);
  if (!value) return std::nullopt;
  return Line{*value, name, !module.empty()};
}

// The first bad line, shortened and with control bytes replaced so the
// note stays one printable line.
std::string note_of(std::string_view line) {
  std::string out(line.substr(0, kBadLineNoteLen));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

void parse_lines(std::string_view text, uint64_t add, ParseStats* stats,
                 std::unordered_map<std::string, uint64_t>& by_name) {
  ParseStats local;
  ParseStats& st = stats ? *stats : local;
  st = ParseStats{};
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool blank = true;
    for (char c : line) blank = blank && is_blank(c);
    if (blank) continue;
    ++st.lines;
    auto parsed = parse_line(line);
    if (!parsed) {
      if (st.skipped++ == 0) st.first_bad_line = note_of(line);
      continue;
    }
    if (parsed->module) {
      ++st.module_symbols;
      continue;
    }
    // Only the kernel image moves with KASLR: per-CPU symbols are offsets
    // into the per-CPU area (small values) and stay as they are.
    const uint64_t addr = parsed->addr >= kKernelImageBase ? parsed->addr + add : parsed->addr;
    if (by_name.try_emplace(std::string(parsed->name), addr).second) ++st.symbols;
    else ++st.duplicates;
  }
}

}  // namespace

std::string SymbolTable::to_system_map(uint64_t kaslr_offset) const {
  std::vector<std::pair<uint64_t, std::string_view>> rows;
  rows.reserve(by_name_.size());
  for (auto& [name, addr] : by_name_)
    rows.emplace_back(addr >= kKernelImageBase ? addr - kaslr_offset : addr, name);
  std::sort(rows.begin(), rows.end());
  std::string out;
  out.reserve(rows.size() * 40);
  char buf[24];
  for (auto& [addr, name] : rows) {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(addr));
    out.append(buf).append(" ? ").append(name).push_back('\n');
  }
  return out;
}

SymbolTable SymbolTable::parse_kallsyms(std::string_view text, ParseStats* stats) {
  return parse_system_map(text, 0, stats);
}

SymbolTable SymbolTable::parse_system_map(std::string_view text, uint64_t kaslr_offset,
                                          ParseStats* stats) {
  SymbolTable table;
  parse_lines(text, kaslr_offset, stats, table.by_name_);  // unsigned: wraps by design
  return table;
}

Result<SymbolTable> SymbolTable::from_compressed_kallsyms(std::span<const uint8_t> blob,
                                                          size_t max_text, ParseStats* stats) {
  if (blob.empty()) return protocol_error("KALLSYMS blob is empty");
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return Error(Errc::kInternal, "ZSTD_createDCtx failed");
  // The window is what zstd allocates up front; never more than the text
  // bound allows (a frame declaring a bigger one is refused).
  ZSTD_bounds bounds = ZSTD_dParam_getBounds(ZSTD_d_windowLogMax);
  int window_log = std::clamp(int(std::bit_width(std::max<size_t>(max_text, 1) - 1)),
                              bounds.lowerBound, bounds.upperBound);
  size_t set = ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, window_log);
  if (ZSTD_isError(set))
    return Error(Errc::kInternal, std::string("zstd windowLogMax: ") + ZSTD_getErrorName(set));

  std::string text;
  std::vector<char> chunk(ZSTD_DStreamOutSize());
  ZSTD_inBuffer in{blob.data(), blob.size(), 0};
  size_t pending = 0;  // 0 once a frame is complete
  for (;;) {
    ZSTD_outBuffer out{chunk.data(), chunk.size(), 0};
    pending = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(pending)) {
      if (ZSTD_getErrorCode(pending) == ZSTD_error_frameParameter_windowTooLarge)
        return protocol_error("KALLSYMS blob needs a zstd window above the " +
                              std::to_string(max_text) + "-byte bound");
      return protocol_error(std::string("KALLSYMS blob does not decompress: ") +
                            ZSTD_getErrorName(pending));
    }
    if (out.pos > max_text - text.size())
      return protocol_error("KALLSYMS blob decompresses to more than " +
                            std::to_string(max_text) + " bytes");
    text.append(chunk.data(), out.pos);
    // Done when all input is read and zstd had nothing more to flush.
    if (in.pos == in.size && out.pos < out.size) break;
  }
  if (pending != 0) return protocol_error("KALLSYMS blob ends inside a zstd frame");
  return parse_kallsyms(text, stats);
}

std::optional<uint64_t> SymbolTable::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

Result<uint64_t> SymbolTable::require(std::string_view name) const {
  if (auto addr = find(name)) return *addr;
  return not_found("kernel symbol '" + std::string(name) + "' not found (" +
                   std::to_string(by_name_.size()) + " symbols known)");
}

}  // namespace ktstr::ksyms
