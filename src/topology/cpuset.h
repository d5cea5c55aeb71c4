// CpuSet: a cheap, sorted set of CPU ids (0..4095) with kernel cpu-list text
// ("0-3,8") in both directions. The currency of every topology query.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::topo {

class CpuSet {
 public:
  static constexpr uint32_t kMaxCpus = 4096;

  CpuSet() = default;
  CpuSet(std::initializer_list<uint32_t> cpus);
  // CPUs first..last, inclusive. Empty when last < first.
  static CpuSet range(uint32_t first, uint32_t last);

  // Parses kernel cpu-list text: "0-3,8", "5", "" (empty), surrounding
  // whitespace/newlines allowed, and the stride forms "0-7:2" (every 2nd CPU)
  // and "0-15:2/4" (first 2 of every group of 4, as bitmap_parselist does).
  static Result<CpuSet> parse_list(std::string_view text);
  // Kernel cpu-list text: consecutive runs as "a-b", "" for the empty set.
  std::string to_list() const;

  // CPU ids >= kMaxCpus are ignored by add() and absent for contains().
  void add(uint32_t cpu);
  void remove(uint32_t cpu);
  bool contains(uint32_t cpu) const;
  size_t count() const;
  bool empty() const { return words_.empty(); }
  void clear() { words_.clear(); }
  std::optional<uint32_t> first() const;
  std::optional<uint32_t> last() const;
  std::vector<uint32_t> to_vector() const;
  bool is_subset_of(const CpuSet& other) const;
  bool intersects(const CpuSet& other) const;

  CpuSet& operator|=(const CpuSet& o);  // union
  CpuSet& operator&=(const CpuSet& o);  // intersection
  CpuSet& operator-=(const CpuSet& o);  // difference
  friend CpuSet operator|(CpuSet a, const CpuSet& b) { return a |= b; }
  friend CpuSet operator&(CpuSet a, const CpuSet& b) { return a &= b; }
  friend CpuSet operator-(CpuSet a, const CpuSet& b) { return a -= b; }
  bool operator==(const CpuSet&) const = default;

  // Ascending iteration over member ids.
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = uint32_t;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = uint32_t;

    const_iterator() = default;
    uint32_t operator*() const {
      return static_cast<uint32_t>(word_ * 64 + std::countr_zero(rest_));
    }
    const_iterator& operator++();
    const_iterator operator++(int) {
      auto t = *this;
      ++*this;
      return t;
    }
    bool operator==(const const_iterator& o) const { return word_ == o.word_ && rest_ == o.rest_; }

   private:
    friend class CpuSet;
    const_iterator(const std::vector<uint64_t>* w, size_t word);
    const std::vector<uint64_t>* words_ = nullptr;
    size_t word_ = 0;
    uint64_t rest_ = 0;
  };
  const_iterator begin() const { return const_iterator(&words_, 0); }
  const_iterator end() const { return const_iterator(&words_, words_.size()); }

 private:
  void shrink();  // drops trailing zero words so equality is structural
  std::vector<uint64_t> words_;
};

}  // namespace ktstr::topo
