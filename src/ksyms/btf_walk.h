// Internal to ksyms: hostile-safe steps over a libbpf `struct btf`, shared
// by KernelBtf and render(). libbpf 1.1 checks that type records fit their
// section but not that the ids and name offsets inside them are valid, so
// every lookup here tolerates a dangling id, and every chain is bounded.
#pragma once

#include <bpf/btf.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ktstr::ksyms::detail {

// Longest typedef/qualifier chain or nesting followed before giving up
// (libbpf uses 32 for the same purpose).
constexpr int kMaxChain = 32;

// nullptr for an id outside the BTF. Id 0 is void (kind UNKN).
const btf_type* type_at(const btf* b, uint32_t id);
// "" for an invalid offset.
std::string_view name_at(const btf* b, uint32_t name_off);
// Follows typedef/const/volatile/restrict/type_tag. 0 when the chain is
// broken or too long (void: nothing usable behind it).
uint32_t strip_modifiers(const btf* b, uint32_t id);
// Resolved size in bytes, or -1 (no size: void, fwd, func, broken chain).
int64_t size_of(const btf* b, uint32_t id);
// C-like spelling: "struct rq", "u64", "int[4]", "struct foo *",
// "const char *", "int(struct rq *, int)".
std::string type_name(const btf* b, uint32_t id);

}  // namespace ktstr::ksyms::detail
