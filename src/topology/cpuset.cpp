#include "topology/cpuset.h"

#include <fmt/format.h>

#include <algorithm>

#include "topology/detail/text.h"
#include "util/files.h"

namespace ktstr::topo {

CpuSet::CpuSet(std::initializer_list<uint32_t> cpus) {
  for (uint32_t c : cpus) add(c);
}

CpuSet CpuSet::range(uint32_t first, uint32_t last) {
  CpuSet s;
  for (uint32_t c = first; c <= last && c < kMaxCpus; ++c) s.add(c);
  return s;
}

void CpuSet::add(uint32_t cpu) {
  if (cpu >= kMaxCpus) return;
  size_t w = cpu / 64;
  if (words_.size() <= w) words_.resize(w + 1, 0);
  words_[w] |= uint64_t{1} << (cpu % 64);
}

void CpuSet::remove(uint32_t cpu) {
  size_t w = cpu / 64;
  if (w >= words_.size()) return;
  words_[w] &= ~(uint64_t{1} << (cpu % 64));
  shrink();
}

bool CpuSet::contains(uint32_t cpu) const {
  size_t w = cpu / 64;
  return w < words_.size() && (words_[w] >> (cpu % 64)) & 1;
}

size_t CpuSet::count() const {
  size_t n = 0;
  for (uint64_t w : words_) n += static_cast<size_t>(std::popcount(w));
  return n;
}

std::optional<uint32_t> CpuSet::first() const {
  if (empty()) return std::nullopt;
  return *begin();
}

std::optional<uint32_t> CpuSet::last() const {
  if (empty()) return std::nullopt;
  size_t w = words_.size() - 1;  // shrink() keeps the last word non-zero
  return static_cast<uint32_t>(w * 64 + 63 - std::countl_zero(words_[w]));
}

std::vector<uint32_t> CpuSet::to_vector() const { return {begin(), end()}; }

bool CpuSet::is_subset_of(const CpuSet& o) const {
  for (size_t i = 0; i < words_.size(); ++i) {
    uint64_t other = i < o.words_.size() ? o.words_[i] : 0;
    if (words_[i] & ~other) return false;
  }
  return true;
}

bool CpuSet::intersects(const CpuSet& o) const {
  size_t n = std::min(words_.size(), o.words_.size());
  for (size_t i = 0; i < n; ++i)
    if (words_[i] & o.words_[i]) return true;
  return false;
}

CpuSet& CpuSet::operator|=(const CpuSet& o) {
  if (words_.size() < o.words_.size()) words_.resize(o.words_.size(), 0);
  for (size_t i = 0; i < o.words_.size(); ++i) words_[i] |= o.words_[i];
  return *this;
}

CpuSet& CpuSet::operator&=(const CpuSet& o) {
  if (words_.size() > o.words_.size()) words_.resize(o.words_.size());
  for (size_t i = 0; i < words_.size(); ++i) words_[i] &= o.words_[i];
  shrink();
  return *this;
}

CpuSet& CpuSet::operator-=(const CpuSet& o) {
  size_t n = std::min(words_.size(), o.words_.size());
  for (size_t i = 0; i < n; ++i) words_[i] &= ~o.words_[i];
  shrink();
  return *this;
}

void CpuSet::shrink() {
  while (!words_.empty() && words_.back() == 0) words_.pop_back();
}

CpuSet::const_iterator::const_iterator(const std::vector<uint64_t>* w, size_t word)
    : words_(w), word_(word) {
  while (word_ < words_->size() && (*words_)[word_] == 0) ++word_;
  rest_ = word_ < words_->size() ? (*words_)[word_] : 0;
}

CpuSet::const_iterator& CpuSet::const_iterator::operator++() {
  rest_ &= rest_ - 1;
  if (rest_ == 0) *this = const_iterator(words_, word_ + 1);
  return *this;
}

std::string CpuSet::to_list() const {
  std::string out;
  auto it = begin();
  while (it != end()) {
    uint32_t lo = *it, hi = lo;
    for (++it; it != end() && *it == hi + 1; ++it) hi = *it;
    if (!out.empty()) out += ',';
    out += lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi);
  }
  return out;
}

namespace {

Result<uint32_t> parse_cpu_id(std::string_view list, std::string_view tok) {
  auto v = detail::parse_u64(trim(tok));
  if (!v)
    return invalid_argument(
        fmt::format("cpu list '{}': '{}' is not a CPU number", list, detail::one_line(trim(tok))));
  if (*v >= CpuSet::kMaxCpus)
    return invalid_argument(fmt::format("cpu list '{}': cpu {} exceeds the maximum id {}", list, *v,
                                        CpuSet::kMaxCpus - 1));
  return static_cast<uint32_t>(*v);
}

// One comma-separated entry: "N", "A-B", "A-B:S" or "A-B:U/G".
Status parse_entry(std::string_view list, std::string_view entry, CpuSet& out) {
  std::string_view range = entry, stride;
  if (auto colon = entry.find(':'); colon != std::string_view::npos) {
    range = entry.substr(0, colon);
    stride = entry.substr(colon + 1);
  }
  auto dash = range.find('-');
  KTSTR_ASSIGN(uint32_t lo, parse_cpu_id(list, range.substr(0, dash)));
  uint32_t hi = lo;
  if (dash != std::string_view::npos) {
    KTSTR_ASSIGN(hi, parse_cpu_id(list, range.substr(dash + 1)));
    if (hi < lo)
      return invalid_argument(
          fmt::format("cpu list '{}': range end {} is below start {}", list, hi, lo));
  } else if (!stride.empty()) {
    return invalid_argument(fmt::format("cpu list '{}': stride in '{}' needs a range like 0-7:2",
                                        list, detail::one_line(entry)));
  }
  uint64_t used = 1, group = 1;
  if (!stride.empty()) {
    auto slash = stride.find('/');
    auto a = detail::parse_u64(trim(stride.substr(0, slash)));
    auto b =
        slash == std::string_view::npos ? a : detail::parse_u64(trim(stride.substr(slash + 1)));
    if (!a || !b || *a == 0 || *b == 0 || *b > CpuSet::kMaxCpus)
      return invalid_argument(
          fmt::format("cpu list '{}': bad stride in '{}'; use A-B:S or A-B:USED/GROUP", list,
                      detail::one_line(entry)));
    if (slash == std::string_view::npos) {
      used = 1, group = *a;  // "A-B:S": every S-th CPU
    } else {
      used = *a, group = *b;
      if (used > group)
        return invalid_argument(
            fmt::format("cpu list '{}': in '{}' the used count {} exceeds the group size {}", list,
                        detail::one_line(entry), used, group));
    }
  }
  for (uint32_t c = lo; c <= hi; ++c)
    if ((c - lo) % group < used) out.add(c);
  return {};
}

}  // namespace

Result<CpuSet> CpuSet::parse_list(std::string_view text) {
  const std::string shown = detail::one_line(trim(text));
  std::string_view list = trim(text);
  CpuSet out;
  if (list.empty()) return out;
  for (const std::string& raw : split(list, ',')) {
    std::string_view entry = trim(raw);
    if (entry.empty())
      return invalid_argument(fmt::format("cpu list '{}': empty entry between commas", shown));
    KTSTR_TRY(parse_entry(shown, entry, out));
  }
  return out;
}

}  // namespace ktstr::topo
