#include <time.h>

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "kernel/detail/metadata.h"
#include "kernel/version.h"
#include "util/files.h"

namespace ktstr::kernel::detail {

namespace fs = std::filesystem;
using nlohmann::json;

std::string metadata_json(const KernelEntry& e) {
  json j;
  j["key"] = e.key;
  j["version"] = e.version;
  j["source"] = e.source;
  j["arch"] = e.arch;
  j["config_hash"] = e.config_hash.empty() ? json(nullptr) : json(e.config_hash);
  j["sched_ext"] = e.sched_ext;
  j["btf"] = e.has_btf;
  j["link_text"] = e.link_text ? json("0x" + hex64(*e.link_text)) : json(nullptr);
  j["created"] = e.created;
  return j.dump(2) + "\n";
}

Result<KernelEntry> load_entry(const fs::path& dir) {
  auto path = dir / kMetadataFile;
  KTSTR_ASSIGN(auto text, read_file_limited(path, 1 << 20));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return protocol_error(path.string() +
                          ": not valid JSON; remove the folder or run `ktstr kernel clean`");
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto boolean = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_boolean() && it->get<bool>();
  };
  KernelEntry e;
  e.key = str("key");
  e.version = str("version");
  e.source = str("source");
  e.arch = str("arch");
  e.config_hash = str("config_hash");
  e.created = str("created");
  e.sched_ext = boolean("sched_ext");
  e.has_btf = boolean("btf");
  if (std::string lt = str("link_text"); !lt.empty()) {
    uint64_t v = 0;
    if (std::sscanf(lt.c_str(), "%" SCNx64, &v) == 1) e.link_text = v;
  }
  if (e.key.empty() || e.key != dir.filename().string())
    return protocol_error(path.string() + ": key does not match the folder name");
  e.dir = dir;
  std::error_code ec;
  auto present = [&](const char* name) {
    fs::path p = dir / name;
    return fs::is_regular_file(p, ec) ? p : fs::path();
  };
  e.image = present(kImageFile);
  if (e.image.empty()) return protocol_error(dir.string() + ": no " + kImageFile);
  e.config = present(kConfigFile);
  e.system_map = present(kSystemMapFile);
  e.btf = present(kBtfFile);
  e.has_btf = e.has_btf && !e.btf.empty();
  return e;
}

uint64_t fnv1a64(std::span<const uint8_t> data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : data) {
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string now_iso8601() {
  time_t t = ::time(nullptr);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > 200 || key.front() == '.') return false;
  for (char c : key)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' ||
          c == '~' || c == '-'))
      return false;
  return true;
}

std::string sanitize_key(std::string_view s) {
  std::string out;
  for (char c : s)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' ||
            c == '~' || c == '-')
               ? c
               : '_';
  while (!out.empty() && out.front() == '.') out.erase(0, 1);
  return out;
}

bool newer_first(const KernelEntry& a, const KernelEntry& b) {
  if (a.created != b.created) return a.created > b.created;  // ISO 8601 sorts as text
  if (int c = compare_versions(a.version, b.version)) return c > 0;
  return a.key < b.key;
}

}  // namespace ktstr::kernel::detail
