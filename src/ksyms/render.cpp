#include "ksyms/render.h"

#include <bpf/btf.h>

#include <cstring>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "ksyms/btf_walk.h"

namespace ktstr::ksyms {

using detail::name_at;
using detail::size_of;
using detail::strip_modifiers;
using detail::type_at;
using json = nlohmann::json;

namespace {

const char* const kMore = "\xe2\x80\xa6";  // "…": how many items were left out

json out_of_bounds(uint64_t offset) { return fmt::format("<out of bounds at {}>", offset); }

// Valid UTF-8 (RFC 3629) without control characters.
bool printable_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (len == 0 || c > 0xf4 || i + len > s.size()) return false;
    uint32_t cp = c & (0x3f >> (len - 1));
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
      return false;
    i += len;
  }
  return true;
}

class Renderer {
 public:
  Renderer(const btf* b, std::span<const uint8_t> bytes, const RenderLimits& limits)
      : b_(b), bytes_(bytes), limits_(limits) {}

  // The value of type `id` stored at byte `offset`.
  json value(uint32_t id, uint64_t offset, unsigned depth) {
    ++nodes_;
    uint32_t real = strip_modifiers(b_, id);
    const btf_type* t = type_at(b_, real);
    if (!t || real == 0) return "<void>";
    switch (btf_kind(t)) {
      case BTF_KIND_INT: return integer(t, offset);
      case BTF_KIND_PTR: return pointer(real, offset);
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64: return enumeration(t, offset);
      case BTF_KIND_FLOAT: return floating(t, offset);
      case BTF_KIND_ARRAY:
        if (depth >= limits_.max_depth) return kMore;
        return array(t, offset, depth + 1);
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION: {
        if (depth >= limits_.max_depth) return kMore;
        json obj = json::object();
        members(t, offset, depth + 1, obj, 0);
        return obj;
      }
      case BTF_KIND_DATASEC:
        if (depth >= limits_.max_depth) return kMore;
        return datasec(t, offset, depth + 1);
      case BTF_KIND_VAR:  // a hostile VAR may name itself: count depth
        if (depth >= limits_.max_depth) return kMore;
        return value(t->type, offset, depth + 1);
      case BTF_KIND_FWD: return "<opaque>";
      case BTF_KIND_FUNC:
      case BTF_KIND_FUNC_PROTO: return "<function>";
      default: return fmt::format("<kind {}>", btf_kind(t));
    }
  }

 private:
  bool over_budget() const { return nodes_ >= limits_.max_nodes; }

  bool fits(uint64_t offset, uint64_t size) const {
    return offset <= bytes_.size() && size <= bytes_.size() - offset;
  }

  // Little-endian (x86-64 guest) unsigned read of 1..8 bytes.
  uint64_t load(uint64_t offset, size_t size) const {
    uint64_t v = 0;
    for (size_t i = 0; i < size; ++i) v |= uint64_t(bytes_[offset + i]) << (8 * i);
    return v;
  }

  static json int_json(uint64_t raw, unsigned bits, bool is_signed, bool is_bool) {
    if (bits < 64) raw &= (uint64_t(1) << bits) - 1;
    if (is_bool) return raw != 0;
    if (is_signed && bits > 0 && bits < 64 && (raw >> (bits - 1)) & 1)
      raw |= ~((uint64_t(1) << bits) - 1);  // sign-extend
    if (is_signed) return int64_t(raw);
    return raw;
  }

  json hex_bytes(uint64_t offset, size_t size) const {
    std::string s = "0x";
    for (size_t i = size; i-- > 0;) s += fmt::format("{:02x}", bytes_[offset + i]);
    return s;
  }

  json integer(const btf_type* t, uint64_t offset) {
    uint32_t enc = *reinterpret_cast<const uint32_t*>(t + 1);
    unsigned bits = BTF_INT_BITS(enc), shift = BTF_INT_OFFSET(enc);
    unsigned encoding = BTF_INT_ENCODING(enc);
    if (!fits(offset, t->size)) return out_of_bounds(offset);
    if (t->size > 8) return hex_bytes(offset, t->size);  // __int128
    if (t->size == 0 || shift >= 64 || bits == 0) return load(offset, t->size);
    uint64_t raw = load(offset, t->size) >> shift;
    return int_json(raw, std::min(bits, 64u), encoding & BTF_INT_SIGNED, encoding & BTF_INT_BOOL);
  }

  json pointer(uint32_t id, uint64_t offset) {
    int64_t size = size_of(b_, id);
    if (size <= 0 || size > 8) size = 8;
    if (!fits(offset, uint64_t(size))) return out_of_bounds(offset);
    return fmt::format("0x{:x}", load(offset, size_t(size)));
  }

  // Enumerator name for `raw` (masked to the enum's size), else the number.
  json enum_name_or_number(const btf_type* t, uint64_t raw) {
    unsigned bits = t->size >= 8 ? 64 : t->size * 8;
    if (bits < 64) raw &= (uint64_t(1) << bits) - 1;
    const auto& names = enumerators(t, bits);
    if (auto it = names.find(raw); it != names.end()) return std::string(it->second);
    return int_json(raw, bits, btf_kflag(t), false);
  }

  // value -> name of one enum type, built once per render: an array of
  // enums must not rescan a thousand enumerators per element.
  const std::unordered_map<uint64_t, std::string_view>& enumerators(const btf_type* t,
                                                                    unsigned bits) {
    auto [it, fresh] = enum_names_.try_emplace(t);
    if (!fresh) return it->second;
    uint64_t mask = bits < 64 ? (uint64_t(1) << bits) - 1 : ~uint64_t(0);
    uint16_t n = btf_vlen(t);
    if (btf_is_enum(t)) {
      const struct btf_enum* e = btf_enum(t);
      for (uint16_t i = 0; i < n; ++i)
        it->second.try_emplace(uint64_t(uint32_t(e[i].val)) & mask, name_at(b_, e[i].name_off));
    } else {
      const auto* e = reinterpret_cast<const uint32_t*>(t + 1);  // {name_off, lo32, hi32}
      for (uint16_t i = 0; i < n; ++i)
        it->second.try_emplace((uint64_t(e[3 * i + 2]) << 32 | e[3 * i + 1]) & mask,
                               name_at(b_, e[3 * i]));
    }
    return it->second;
  }

  json enumeration(const btf_type* t, uint64_t offset) {
    size_t size = t->size;
    if (size == 0 || size > 8) return fmt::format("<enum of {} bytes>", size);
    if (!fits(offset, size)) return out_of_bounds(offset);
    return enum_name_or_number(t, load(offset, size));
  }

  json floating(const btf_type* t, uint64_t offset) {
    if (!fits(offset, t->size)) return out_of_bounds(offset);
    if (t->size == sizeof(float)) {
      float f;
      std::memcpy(&f, &bytes_[offset], sizeof f);
      return f;
    }
    if (t->size == sizeof(double)) {
      double d;
      std::memcpy(&d, &bytes_[offset], sizeof d);
      return d;
    }
    return hex_bytes(offset, t->size);  // long double and friends
  }

  // A char[] holding printable text up to its first NUL, or nullopt.
  std::optional<std::string> as_text(uint32_t elem, uint64_t offset, uint32_t nelems) const {
    const btf_type* e = type_at(b_, strip_modifiers(b_, elem));
    if (!e || !btf_is_int(e) || e->size != 1) return std::nullopt;
    uint32_t enc = *reinterpret_cast<const uint32_t*>(e + 1);
    if (!(BTF_INT_ENCODING(enc) & BTF_INT_CHAR) && name_at(b_, e->name_off) != "char")
      return std::nullopt;
    if (!fits(offset, nelems)) return std::nullopt;
    auto chars = reinterpret_cast<const char*>(bytes_.data() + offset);
    std::string_view text(chars, strnlen(chars, nelems));
    if (!printable_utf8(text)) return std::nullopt;
    return std::string(text);
  }

  json array(const btf_type* t, uint64_t offset, unsigned depth) {
    const struct btf_array* a = btf_array(t);
    if (auto text = as_text(a->type, offset, a->nelems)) return *text;
    int64_t elem_size = size_of(b_, a->type);
    json list = json::array();
    if (elem_size < 0) return list;
    size_t shown = 0;
    for (; shown < a->nelems && shown < limits_.max_array_elems && !over_budget(); ++shown) {
      uint64_t at = offset + shown * uint64_t(elem_size);  // < 2^32 * 2^32: no overflow
      if (!fits(at, uint64_t(elem_size))) {
        list.push_back(out_of_bounds(at));
        ++shown;
        break;
      }
      list.push_back(value(a->type, at, depth));
    }
    if (shown < a->nelems) {
      json more = json::object();
      more[kMore] = a->nelems - shown;
      list.push_back(std::move(more));
    }
    return list;
  }

  json bitfield(uint32_t type_id, uint64_t bit_offset, uint32_t bit_size) {
    uint64_t first = bit_offset / 8;
    unsigned shift = unsigned(bit_offset % 8);
    size_t count = (shift + bit_size + 7) / 8;  // <= 9 bytes for 64 bits
    if (bit_size > 64) return fmt::format("<bitfield of {} bits>", bit_size);
    if (!fits(first, count)) return out_of_bounds(first);
    unsigned __int128 raw = 0;
    for (size_t i = 0; i < count; ++i) raw |= (unsigned __int128)bytes_[first + i] << (8 * i);
    auto v = uint64_t(raw >> shift);
    const btf_type* t = type_at(b_, strip_modifiers(b_, type_id));
    if (t && btf_is_any_enum(t)) {
      if (bit_size < 64) v &= (uint64_t(1) << bit_size) - 1;
      return enum_name_or_number(t, v);
    }
    bool is_signed = false, is_bool = false;
    if (t && btf_is_int(t)) {
      uint32_t enc = *reinterpret_cast<const uint32_t*>(t + 1);
      is_signed = BTF_INT_ENCODING(enc) & BTF_INT_SIGNED;
      is_bool = BTF_INT_ENCODING(enc) & BTF_INT_BOOL;
    }
    return int_json(v, bit_size, is_signed, is_bool);
  }

  // Adds the members of struct/union `t` at `offset` to `obj`; anonymous
  // struct/union members are flattened into it, as C names them.
  void members(const btf_type* t, uint64_t offset, unsigned depth, json& obj, int nesting) {
    const btf_member* m = btf_members(t);
    uint16_t n = btf_vlen(t);
    for (uint16_t i = 0; i < n; ++i) {
      if (over_budget()) {
        obj[kMore] = n - i;
        return;
      }
      uint64_t bits = offset * 8 + btf_member_bit_offset(t, i);
      uint32_t bit_size = btf_member_bitfield_size(t, i);
      std::string name(name_at(b_, m[i].name_off));
      if (name.empty()) {
        const btf_type* inner = type_at(b_, strip_modifiers(b_, m[i].type));
        // Flattening adds no depth; `nesting` bounds a hostile self-nest.
        if (inner && btf_is_composite(inner) && nesting < detail::kMaxChain) {
          ++nodes_;
          members(inner, bits / 8, depth, obj, nesting + 1);
        }
        continue;  // unnamed padding bitfields carry no data
      }
      if (bit_size) {
        ++nodes_;
        obj[name] = bitfield(m[i].type, bits, bit_size);
      } else {
        obj[name] = value(m[i].type, bits / 8, depth);
      }
    }
  }

  // A .bss/.data/.rodata map value: variable name -> value.
  json datasec(const btf_type* t, uint64_t offset, unsigned depth) {
    json obj = json::object();
    const btf_var_secinfo* v = btf_var_secinfos(t);
    uint16_t n = btf_vlen(t);
    for (uint16_t i = 0; i < n; ++i) {
      if (over_budget()) {
        obj[kMore] = n - i;
        break;
      }
      const btf_type* var = type_at(b_, v[i].type);
      std::string name = var ? std::string(name_at(b_, var->name_off)) : "";
      if (name.empty()) name = fmt::format("<var {}>", v[i].type);
      uint64_t at = offset + v[i].offset;
      if (!fits(at, v[i].size)) {
        obj[name] = out_of_bounds(at);
        continue;
      }
      obj[name] = var && btf_is_var(var) ? value(var->type, at, depth) : value(v[i].type, at, depth);
    }
    return obj;
  }

  const btf* b_;
  std::span<const uint8_t> bytes_;
  RenderLimits limits_;
  size_t nodes_ = 0;
  std::unordered_map<const btf_type*, std::unordered_map<uint64_t, std::string_view>> enum_names_;
};

}  // namespace

Result<json> render(const KernelBtf& btf, uint32_t type_id, std::span<const uint8_t> bytes,
                    const RenderLimits& limits) {
  const struct btf* b = btf.raw();
  if (!b) return invalid_argument("render: no BTF loaded");
  if (!type_at(b, type_id) || type_id == 0)
    return invalid_argument(fmt::format("render: BTF has no type {}", type_id));
  int64_t size = size_of(b, type_id);  // -1 for kinds without size: rendered as markers
  if (size > 0 && bytes.size() < uint64_t(size))
    return invalid_argument(fmt::format("render: {} needs {} bytes, got {}",
                                        btf.type_name(type_id), size, bytes.size()));
  return Renderer(b, bytes, limits).value(type_id, 0, 0);
}

size_t count_nodes(const nlohmann::json& j) {
  size_t n = 1;
  if (j.is_structured())
    for (const auto& child : j) n += count_nodes(child);
  return n;
}

}  // namespace ktstr::ksyms
