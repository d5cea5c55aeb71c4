#include "kernel/version.h"

#include <cctype>

namespace ktstr::kernel {

namespace {

// dpkg's character order: '~' sorts before everything, even the end of the
// string; letters sort before non-letters.
int order(char c) {
  if (std::isdigit(static_cast<unsigned char>(c))) return 0;
  if (std::isalpha(static_cast<unsigned char>(c))) return c;
  if (c == '~') return -1;
  if (c) return static_cast<unsigned char>(c) + 256;
  return 0;
}

int verrevcmp(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  auto at = [](std::string_view s, size_t k) { return k < s.size() ? s[k] : '\0'; };
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !digit(a[i])) || (j < b.size() && !digit(b[j]))) {
      int ac = order(at(a, i)), bc = order(at(b, j));
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (at(a, i) == '0') ++i;
    while (at(b, j) == '0') ++j;
    while (digit(at(a, i)) && digit(at(b, j))) {
      if (!first_diff) first_diff = at(a, i) - at(b, j);
      ++i;
      ++j;
    }
    if (digit(at(a, i))) return 1;
    if (digit(at(b, j))) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

struct Parts {
  long epoch = 0;
  std::string_view upstream, revision;
};

Parts split_version(std::string_view v) {
  Parts p;
  auto colon = v.find(':');
  if (colon != std::string_view::npos) {
    for (char c : v.substr(0, colon))
      if (std::isdigit(static_cast<unsigned char>(c))) p.epoch = p.epoch * 10 + (c - '0');
    v.remove_prefix(colon + 1);
  }
  auto dash = v.rfind('-');
  if (dash != std::string_view::npos) {
    p.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  p.upstream = v;
  return p;
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  Parts pa = split_version(a), pb = split_version(b);
  if (pa.epoch != pb.epoch) return pa.epoch < pb.epoch ? -1 : 1;
  int r = verrevcmp(pa.upstream, pb.upstream);
  if (r) return r;
  return verrevcmp(pa.revision, pb.revision);
}

bool version_has_prefix(std::string_view version, std::string_view prefix) {
  if (prefix.empty() || !version.starts_with(prefix)) return false;
  if (version.size() == prefix.size()) return true;
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  return !(digit(prefix.back()) && digit(version[prefix.size()]));
}

}  // namespace ktstr::kernel
