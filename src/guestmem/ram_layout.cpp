#include "guestmem/ram_layout.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace ktstr::guestmem {

namespace {

// One range line of a FlatView, e.g.
//   "  0000000000100000-000000001fffffff (prio 0, ram): mem0 @0000000000100000"
struct FlatRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  std::string_view kind;  // "ram", "rom", "i/o", "romd", ...
  std::string_view name;
  uint64_t offset = 0;  // the " @<hex>" suffix: offset inside region `name`
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Consumes `prefix` from the front of `s`.
bool eat(std::string_view& s, std::string_view prefix) {
  if (!starts_with(s, prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// Consumes 1..16 hex digits.
std::optional<uint64_t> eat_hex(std::string_view& s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<size_t>(end - s.data()));
  return v;
}

std::optional<FlatRange> parse_range_line(std::string_view s) {
  FlatRange r;
  if (!eat(s, "  ")) return std::nullopt;
  auto first = eat_hex(s);
  if (!first || !eat(s, "-")) return std::nullopt;
  auto last = eat_hex(s);
  if (!last || *last < *first || !eat(s, " (prio ")) return std::nullopt;
  eat(s, "-");
  uint64_t prio = 0;
  auto [prio_end, ec] = std::from_chars(s.data(), s.data() + s.size(), prio);
  if (ec != std::errc()) return std::nullopt;
  s.remove_prefix(static_cast<size_t>(prio_end - s.data()));
  if (!eat(s, ", ")) return std::nullopt;
  const size_t kind_end = s.find("): ");
  if (kind_end == std::string_view::npos || kind_end == 0) return std::nullopt;
  r.first = *first;
  r.last = *last;
  r.kind = s.substr(0, kind_end);
  s.remove_prefix(kind_end + 3);
  // "<name>" or "<name> @<hex offset>".
  if (const size_t at = s.rfind(" @"); at != std::string_view::npos) {
    std::string_view tail = s.substr(at + 2);
    auto offset = eat_hex(tail);
    if (offset && tail.empty()) {
      r.offset = *offset;
      s = s.substr(0, at);
    }
  }
  if (s.empty()) return std::nullopt;
  r.name = s;
  return r;
}

// Splits on '\n', dropping a trailing '\r' (HMP output over QMP uses CRLF).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

// Index of the first line of the FlatView block that serves address space
// "memory" (its " AS ..." lines follow the "FlatView #N" header), or npos.
size_t find_memory_view(const std::vector<std::string_view>& lines) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!starts_with(lines[i], "FlatView #")) continue;
    for (size_t j = i + 1; j < lines.size() && starts_with(lines[j], " AS \""); ++j)
      if (starts_with(lines[j], " AS \"memory\"")) return i + 1;
  }
  return std::string_view::npos;
}

// Appends `r`, merging it into the previous range when it continues that
// range both in guest-physical space and in the same file.
void append_merged(std::vector<RamRange>& out, RamRange r) {
  if (!out.empty()) {
    RamRange& prev = out.back();
    if (prev.file == r.file && prev.guest_phys + prev.size == r.guest_phys &&
        prev.file_offset + prev.size == r.file_offset) {
      prev.size += r.size;
      return;
    }
  }
  out.push_back(std::move(r));
}

}  // namespace

Result<std::vector<RamRange>> parse_flat_mtree(
    std::string_view text, const std::map<std::string, std::filesystem::path>& backends) {
  const auto lines = split_lines(text);
  const size_t begin = find_memory_view(lines);
  if (begin == std::string_view::npos) {
    std::string_view first = lines.empty() ? std::string_view() : lines.front();
    return protocol_error(fmt::format(
        "info mtree -f: no FlatView of address space \"memory\" (output starts '{}')",
        first.substr(0, 80)));
  }

  std::vector<RamRange> pieces;
  for (size_t i = begin; i < lines.size() && !lines[i].empty(); ++i) {
    const std::string_view line = lines[i];
    if (starts_with(line, " AS \"") || starts_with(line, " Root memory region:") ||
        line == "  No rendered FlatView")
      continue;
    auto r = parse_range_line(line);
    if (!r)
      return protocol_error(fmt::format("info mtree -f line {}: cannot parse '{}'", i + 1,
                                        line.substr(0, 160)));
    // Before boot RAM shows as "ram"; once the firmware write-protects the
    // BIOS shadow (PAM) those pieces of the same file show as "rom".
    if (r->kind != "ram" && r->kind != "rom") continue;
    auto backend = backends.find(std::string(r->name));
    if (backend == backends.end()) continue;
    const uint64_t size = r->last - r->first + 1;
    if (size == 0 || r->offset + size < r->offset)
      return protocol_error(
          fmt::format("info mtree -f line {}: range too large '{}'", i + 1, line));
    pieces.push_back({r->first, size, backend->second, r->offset});
  }

  std::sort(pieces.begin(), pieces.end(),
            [](const RamRange& a, const RamRange& b) { return a.guest_phys < b.guest_phys; });
  std::vector<RamRange> out;
  for (RamRange& r : pieces) {
    if (!out.empty() && out.back().guest_phys + out.back().size > r.guest_phys)
      return protocol_error(
          fmt::format("info mtree -f: RAM pieces overlap at guest-physical {:#x}", r.guest_phys));
    append_merged(out, std::move(r));
  }
  if (out.empty()) {
    std::string names;
    for (const auto& [name, path] : backends) names += (names.empty() ? "" : ", ") + name;
    return protocol_error(
        fmt::format("info mtree -f: no RAM of backends [{}] in address space \"memory\"", names));
  }
  return out;
}

Result<std::vector<RamRange>> query_ram_layout(
    vm::Qmp& qmp, const std::map<std::string, std::filesystem::path>& backends) {
  KTSTR_ASSIGN(nlohmann::json reply,
               qmp.execute("human-monitor-command", {{"command-line", "info mtree -f"}}),
               "querying guest RAM layout");
  if (!reply.is_string())
    return protocol_error("human-monitor-command 'info mtree -f' did not return a string");
  return parse_flat_mtree(reply.get<std::string>(), backends);
}

}  // namespace ktstr::guestmem
