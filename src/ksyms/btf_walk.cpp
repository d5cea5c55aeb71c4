#include "ksyms/btf_walk.h"

#include <vector>

namespace ktstr::ksyms::detail {

const btf_type* type_at(const btf* b, uint32_t id) {
  if (id >= btf__type_cnt(b)) return nullptr;
  return btf__type_by_id(b, id);
}

std::string_view name_at(const btf* b, uint32_t name_off) {
  const char* s = btf__name_by_offset(b, name_off);
  return s ? std::string_view(s) : std::string_view();
}

uint32_t strip_modifiers(const btf* b, uint32_t id) {
  for (int i = 0; i < kMaxChain; ++i) {
    const btf_type* t = type_at(b, id);
    if (!t) return 0;
    if (!btf_is_typedef(t) && !btf_is_mod(t)) return id;
    id = t->type;
  }
  return 0;
}

int64_t size_of(const btf* b, uint32_t id) {
  if (!type_at(b, id)) return -1;
  int64_t n = btf__resolve_size(b, id);
  return n < 0 ? -1 : n;
}

namespace {

std::string tagged(const char* tag, std::string_view name) {
  return std::string(tag) + (name.empty() ? "<anon>" : std::string(name));
}

// `budget` caps the calls made for one name: a hostile function prototype
// can fan out 65535 ways per level.
std::string name_rec(const btf* b, uint32_t id, int depth, int& budget) {
  if (id == 0) return "void";
  if (--budget < 0) return "...";
  const btf_type* t = type_at(b, id);
  if (!t) return "<bad type " + std::to_string(id) + ">";
  if (depth >= kMaxChain) return "...";
  std::string_view name = name_at(b, t->name_off);
  switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_FUNC:
    case BTF_KIND_VAR:
    case BTF_KIND_DATASEC:
      return name.empty() ? "<anon>" : std::string(name);
    case BTF_KIND_STRUCT: return tagged("struct ", name);
    case BTF_KIND_UNION: return tagged("union ", name);
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: return tagged("enum ", name);
    case BTF_KIND_FWD: return tagged(btf_kflag(t) ? "union " : "struct ", name);
    case BTF_KIND_PTR: return name_rec(b, t->type, depth + 1, budget) + " *";
    case BTF_KIND_CONST: return "const " + name_rec(b, t->type, depth + 1, budget);
    case BTF_KIND_VOLATILE: return "volatile " + name_rec(b, t->type, depth + 1, budget);
    case BTF_KIND_RESTRICT: return name_rec(b, t->type, depth + 1, budget) + " restrict";
    case BTF_KIND_TYPE_TAG:
    case BTF_KIND_DECL_TAG: return name_rec(b, t->type, depth + 1, budget);
    case BTF_KIND_ARRAY: {
      // int[2][3] is an array of 2 arrays of 3: dimensions read outside in.
      std::string dims;
      uint32_t elem = id;
      for (int i = depth; i < kMaxChain; ++i) {
        const btf_type* a = type_at(b, elem);
        if (!a || !btf_is_array(a)) break;
        dims += "[" + std::to_string(btf_array(a)->nelems) + "]";
        elem = btf_array(a)->type;
      }
      return name_rec(b, elem, depth + 1, budget) + dims;
    }
    case BTF_KIND_FUNC_PROTO: {
      std::string out = name_rec(b, t->type, depth + 1, budget) + "(";
      const btf_param* p = btf_params(t);
      for (uint16_t i = 0; i < btf_vlen(t); ++i) {
        if (i) out += ", ";
        if (budget <= 0) {
          out += "...";
          break;
        }
        out += p[i].type == 0 ? std::string("...") : name_rec(b, p[i].type, depth + 1, budget);
      }
      return out + ")";
    }
    default: return "<kind " + std::to_string(btf_kind(t)) + ">";
  }
}

}  // namespace

std::string type_name(const btf* b, uint32_t id) {
  int budget = 256;
  return name_rec(b, id, 0, budget);
}

}  // namespace ktstr::ksyms::detail
