// KernelBtf: type layout from BTF through libbpf's BTF API: the offset and
// size of a member path such as rq.scx.local_dsq.nr, struct sizes, enum
// values. Used for the guest kernel's vmlinux BTF (from the kernel cache)
// and for a BPF program's own BTF read out of guest memory (map values).
// A member missing on this kernel is a kNotFound error naming the path, so
// callers can disable one metric and keep going.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "util/result.h"

struct btf;  // libbpf

namespace ktstr::ksyms {

struct FieldInfo {
  uint64_t offset = 0;       // bytes from the start of the outer struct
  uint64_t size = 0;         // bytes (of the member's resolved type)
  uint32_t type_id = 0;      // member type, typedefs/qualifiers NOT stripped
  uint32_t bit_offset = 0;   // within `offset`, for bitfields
  uint32_t bit_size = 0;     // 0 = not a bitfield
};

class KernelBtf {
 public:
  // Raw BTF file (e.g. the cache entry's vmlinux.btf) or an ELF with .BTF.
  static Result<KernelBtf> load(const std::filesystem::path& path);
  // Raw BTF bytes (a BPF program's BTF copied out of guest memory). Bounded
  // (64 MiB) and validated by libbpf; garbage is a kProtocol error. libbpf
  // 1.1 does not check the ids and name offsets inside types, so every
  // lookup here tolerates dangling ones.
  static Result<KernelBtf> from_bytes(std::span<const uint8_t> raw);

  KernelBtf();
  ~KernelBtf();
  KernelBtf(KernelBtf&&) noexcept;
  KernelBtf& operator=(KernelBtf&&) noexcept;

  // Type id of `struct name` (or union; a leading "struct "/"union " is
  // accepted); kNotFound otherwise.
  Result<uint32_t> struct_id(std::string_view name) const;
  Result<uint64_t> struct_size(std::string_view name) const;
  // "nr_running", "scx.local_dsq.nr", "se.vruntime": members of `struct
  // outer` (anonymous struct/union members are searched through). Arrays:
  // "a[3].b" indexes into an array member (any index into a flexible
  // array, nelems 0). Errors: kNotFound "struct rq has no member
  // 'scx.x' (struct scx_rq has no 'x')"; kInvalidArgument for a bad path,
  // an index out of range, or a step through a non-struct.
  Result<FieldInfo> field(std::string_view outer, std::string_view path) const;
  // Same, starting from any struct/union type id.
  Result<FieldInfo> field_of(uint32_t type_id, std::string_view path) const;
  // Value of enumerator `name` (searched in every enum, first wins). An
  // unsigned ENUM64 value above INT64_MAX comes back as its bit pattern.
  std::optional<int64_t> enum_value(std::string_view name) const;
  // Resolved size of a type (typedefs and qualifiers stripped).
  Result<uint64_t> type_size(uint32_t type_id) const;
  // Type id with typedefs/const/volatile/restrict stripped; 0 when the
  // chain is broken (dangling id, loop).
  uint32_t resolve(uint32_t type_id) const;
  // "struct rq", "u64", "int[4]".
  std::string type_name(uint32_t type_id) const;

  const struct btf* raw() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ktstr::ksyms
