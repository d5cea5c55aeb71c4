#include "ksyms/btf.h"

#include <bpf/btf.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "ksyms/btf_walk.h"

namespace ktstr::ksyms {

using detail::name_at;
using detail::size_of;
using detail::strip_modifiers;
using detail::type_at;

namespace {

// A BPF program's BTF is kilobytes; vmlinux BTF is ~6 MiB.
constexpr size_t kMaxBtfBytes = 64u << 20;
// Members looked at while searching anonymous structs/unions for one name:
// real types need a few hundred, a hostile nest could need 65535^32.
constexpr size_t kMaxMemberVisits = 1u << 20;

bool is_composite_id(const btf* b, uint32_t id) {
  const btf_type* t = type_at(b, id);
  return t && btf_is_composite(t);
}

// One path component: "uclamp[1]" -> name "uclamp", indices {1}.
struct Step {
  std::string_view name;
  std::vector<uint64_t> indices;
  size_t end = 0;  // where the component ends in the path, for messages
};

Result<std::vector<Step>> parse_path(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return invalid_argument(fmt::format("bad member path '{}': {}", path, why));
  };
  std::vector<Step> steps;
  size_t pos = 0;
  while (true) {
    Step step;
    size_t name_end = path.find_first_of(".[", pos);
    if (name_end == std::string_view::npos) name_end = path.size();
    step.name = path.substr(pos, name_end - pos);
    if (step.name.empty()) return bad("empty member name");
    if (step.name.find(']') != std::string_view::npos) return bad("stray ']'");
    pos = name_end;
    while (pos < path.size() && path[pos] == '[') {
      size_t close = path.find(']', pos);
      if (close == std::string_view::npos) return bad("unclosed '['");
      std::string_view digits = path.substr(pos + 1, close - pos - 1);
      if (digits.empty() || digits.size() > 9) return bad("index must be 1 to 9 digits");
      uint64_t index = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') return bad(fmt::format("index '{}' is not a number", digits));
        index = index * 10 + uint64_t(c - '0');
      }
      step.indices.push_back(index);
      pos = close + 1;
    }
    step.end = pos;
    steps.push_back(std::move(step));
    if (pos == path.size()) return steps;
    if (path[pos] != '.') return bad(fmt::format("unexpected '{}' after ']'", path[pos]));
    ++pos;
  }
}

struct Found {
  uint32_t type_id = 0;
  uint64_t bit_offset = 0;  // from the start of the struct searched
  uint32_t bitfield_size = 0;
};

// Member `name` of composite `id`, looking through anonymous struct/union
// members the way C does.
std::optional<Found> find_member(const btf* b, uint32_t id, std::string_view name,
                                 uint64_t bit_base, int depth, size_t& visits) {
  const btf_type* t = type_at(b, id);
  const btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); ++i) {
    if (++visits > kMaxMemberVisits) return std::nullopt;
    uint64_t bits = bit_base + btf_member_bit_offset(t, i);
    std::string_view member = name_at(b, m[i].name_off);
    if (member == name) return Found{m[i].type, bits, btf_member_bitfield_size(t, i)};
    if (!member.empty() || depth >= detail::kMaxChain) continue;
    uint32_t inner = strip_modifiers(b, m[i].type);
    if (!is_composite_id(b, inner)) continue;
    if (auto found = find_member(b, inner, name, bits, depth + 1, visits)) return found;
  }
  return std::nullopt;
}

std::string_view without_tag(std::string_view name) {
  for (std::string_view tag : {"struct ", "union "})
    if (name.starts_with(tag)) return name.substr(tag.size());
  return name;
}

}  // namespace

struct KernelBtf::Impl {
  btf* b = nullptr;
  std::unordered_map<std::string, int64_t> enumerators;  // first definition wins

  explicit Impl(btf* b) : b(b) { index_enumerators(); }
  ~Impl() { btf__free(b); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void index_enumerators() {
    uint32_t count = btf__type_cnt(b);
    for (uint32_t id = 1; id < count; ++id) {
      const btf_type* t = btf__type_by_id(b, id);
      if (btf_is_enum(t)) {
        const struct btf_enum* e = btf_enum(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) {
          int64_t v = btf_kflag(t) ? int64_t(e[i].val) : int64_t(uint32_t(e[i].val));
          enumerators.try_emplace(std::string(name_at(b, e[i].name_off)), v);
        }
      } else if (btf_is_enum64(t)) {
        // struct btf_enum64 is opaque in libbpf's header: {name_off, lo32, hi32}.
        const auto* e = reinterpret_cast<const uint32_t*>(t + 1);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) {
          const uint32_t* entry = e + 3 * i;
          auto v = int64_t(uint64_t(entry[2]) << 32 | entry[1]);
          enumerators.try_emplace(std::string(name_at(b, entry[0])), v);
        }
      }
    }
  }
};

KernelBtf::KernelBtf() = default;
KernelBtf::~KernelBtf() = default;
KernelBtf::KernelBtf(KernelBtf&&) noexcept = default;
KernelBtf& KernelBtf::operator=(KernelBtf&&) noexcept = default;

Result<KernelBtf> KernelBtf::load(const std::filesystem::path& path) {
  errno = 0;
  btf* b = btf__parse(path.c_str(), nullptr);
  if (!b) {
    int e = errno ? errno : EINVAL;
    std::string msg = fmt::format("loading BTF from {}: {}", path.string(), std::strerror(e));
    return Error(e == ENOENT ? Errc::kNotFound : Errc::kInvalidArgument, msg, e);
  }
  KernelBtf out;
  out.impl_ = std::make_unique<Impl>(b);
  return out;
}

Result<KernelBtf> KernelBtf::from_bytes(std::span<const uint8_t> raw) {
  if (raw.empty()) return protocol_error("BTF blob is empty");
  if (raw.size() > kMaxBtfBytes)
    return protocol_error(
        fmt::format("BTF blob of {} bytes is over the {} byte limit", raw.size(), kMaxBtfBytes));
  errno = 0;
  btf* b = btf__new(raw.data(), uint32_t(raw.size()));
  if (!b) {
    int e = errno ? errno : EINVAL;
    return Error(Errc::kProtocol, fmt::format("BTF blob of {} bytes is not valid BTF: {}",
                                              raw.size(), std::strerror(e)),
                 e);
  }
  KernelBtf out;
  out.impl_ = std::make_unique<Impl>(b);
  return out;
}

Result<uint32_t> KernelBtf::struct_id(std::string_view name) const {
  std::string bare(without_tag(name));
  if (impl_ && !bare.empty()) {
    for (uint32_t kind : {BTF_KIND_STRUCT, BTF_KIND_UNION}) {
      int id = btf__find_by_name_kind(impl_->b, bare.c_str(), kind);
      if (id > 0) return uint32_t(id);
    }
  }
  return not_found(fmt::format("struct {} not found in BTF", bare));
}

Result<uint64_t> KernelBtf::struct_size(std::string_view name) const {
  KTSTR_ASSIGN(uint32_t id, struct_id(name));
  return uint64_t(btf__type_by_id(impl_->b, id)->size);
}

Result<FieldInfo> KernelBtf::field(std::string_view outer, std::string_view path) const {
  KTSTR_ASSIGN(uint32_t id, struct_id(outer));
  return field_of(id, path);
}

Result<FieldInfo> KernelBtf::field_of(uint32_t type_id, std::string_view path) const {
  if (!impl_) return invalid_argument("no BTF loaded");
  const btf* b = impl_->b;
  uint32_t cur = strip_modifiers(b, type_id);
  if (!is_composite_id(b, cur))
    return invalid_argument(fmt::format("type {} ({}) is not a struct or union", type_id,
                                        type_name(type_id)));
  const std::string outer = type_name(cur);
  KTSTR_ASSIGN(std::vector<Step> steps, parse_path(path), outer);

  uint64_t bits = 0;
  uint32_t member_type = 0;
  uint32_t bitfield_size = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    if (i > 0) {
      cur = strip_modifiers(b, member_type);
      if (!is_composite_id(b, cur))
        return invalid_argument(fmt::format("{}: '{}' is {}, not a struct or union", outer,
                                            path.substr(0, steps[i - 1].end),
                                            type_name(member_type)));
    }
    size_t visits = 0;
    auto found = find_member(b, cur, step.name, 0, 0, visits);
    if (!found) {
      std::string msg = fmt::format("{} has no member '{}'", outer, path);
      if (i > 0) msg += fmt::format(" ({} has no '{}')", type_name(cur), step.name);
      return not_found(msg);
    }
    bits += found->bit_offset;
    member_type = found->type_id;
    bitfield_size = found->bitfield_size;
    for (uint64_t index : step.indices) {
      uint32_t arr = strip_modifiers(b, member_type);
      const btf_type* t = type_at(b, arr);
      std::string_view so_far = path.substr(0, step.end);
      if (!t || !btf_is_array(t))
        return invalid_argument(fmt::format("{}: '{}' indexes {}, not an array", outer, so_far,
                                            type_name(member_type)));
      const struct btf_array* a = btf_array(t);
      // nelems 0 is a flexible array member: any index is the caller's call.
      if (a->nelems != 0 && index >= a->nelems)
        return invalid_argument(fmt::format("{}: index {} out of range in '{}' ({} elements)",
                                            outer, index, so_far, a->nelems));
      int64_t elem_size = size_of(b, a->type);
      if (elem_size < 0)
        return invalid_argument(
            fmt::format("{}: elements of '{}' have no size", outer, so_far));
      unsigned __int128 step_bits = (unsigned __int128)index * uint64_t(elem_size) * 8;
      if (step_bits > UINT64_MAX - bits)
        return invalid_argument(fmt::format("{}: offset of '{}' overflows", outer, so_far));
      bits += uint64_t(step_bits);
      member_type = a->type;
      bitfield_size = 0;
    }
  }
  int64_t size = size_of(b, member_type);
  if (size < 0)
    return invalid_argument(fmt::format("{}: member '{}' ({}) has no size", outer, path,
                                        type_name(member_type)));
  FieldInfo info;
  info.offset = bits / 8;
  info.bit_offset = uint32_t(bits % 8);
  info.size = uint64_t(size);
  info.type_id = member_type;
  info.bit_size = bitfield_size;
  return info;
}

std::optional<int64_t> KernelBtf::enum_value(std::string_view name) const {
  if (!impl_) return std::nullopt;
  auto it = impl_->enumerators.find(std::string(name));
  if (it == impl_->enumerators.end()) return std::nullopt;
  return it->second;
}

Result<uint64_t> KernelBtf::type_size(uint32_t type_id) const {
  if (!impl_) return invalid_argument("no BTF loaded");
  int64_t size = size_of(impl_->b, type_id);
  if (size < 0)
    return invalid_argument(fmt::format("type {} ({}) has no size", type_id, type_name(type_id)));
  return uint64_t(size);
}

uint32_t KernelBtf::resolve(uint32_t type_id) const {
  return impl_ ? strip_modifiers(impl_->b, type_id) : 0;
}

std::string KernelBtf::type_name(uint32_t type_id) const {
  return impl_ ? detail::type_name(impl_->b, type_id) : "<no BTF>";
}

const struct btf* KernelBtf::raw() const { return impl_ ? impl_->b : nullptr; }

}  // namespace ktstr::ksyms
