// The BPF maps of the running guest, read straight out of its memory: the
// kernel's map_idr (an IDR, i.e. an XArray of struct bpf_map *) lists every
// live map; each map's value type comes from the map's own BTF (struct btf
// data/data_size, copied out of the guest and parsed with libbpf) and
// values are rendered to JSON through it. Rendered: BPF_MAP_TYPE_ARRAY
// (incl. the .bss/.data/.rodata maps of a BPF object, whose value is a
// DATASEC: rendered as one object of variable -> value) and
// BPF_MAP_TYPE_PERCPU_ARRAY. Other map types are listed with their metadata
// and a note. Every kernel offset comes from the vmlinux BTF; every guest
// value is bounded (entries, bytes, BTF size) and a bad map becomes a note
// on that map, never a failed snapshot.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "freeze/snapshot.h"
#include "freeze/xarray.h"
#include "guestmem/kernel_space.h"
#include "ksyms/btf.h"
#include "ksyms/render.h"
#include "ksyms/symbols.h"
#include "monitor/sched_reader.h"
#include "util/result.h"

namespace ktstr::freeze {

inline constexpr uint32_t kBpfMapTypeArray = 2;        // BPF_MAP_TYPE_ARRAY
inline constexpr uint32_t kBpfMapTypePercpuArray = 6;  // BPF_MAP_TYPE_PERCPU_ARRAY

// One live map as listed from map_idr (metadata only, nothing rendered).
struct MapRef {
  uint64_t kva = 0;  // struct bpf_map *
  uint64_t index = 0;  // IDR index (== id for a sane kernel)
  uint32_t id = 0;
  std::string name;  // bpf_map.name, non-printable bytes replaced by '?'
  uint32_t map_type = 0;
  std::string type_name;  // "array", "percpu_array", ... ("type <N>" if unknown)
  uint32_t key_size = 0, value_size = 0, max_entries = 0;
  uint64_t btf = 0;  // struct btf * of the map (0 = none)
  uint32_t btf_value_type_id = 0;
  std::string error;  // the struct bpf_map could not be read (other fields 0)
};

// Bounds on what one snapshot may cost the host, whatever the guest claims.
struct DumpLimits {
  uint32_t max_entries = 4096;          // array elements rendered per map
  size_t max_value_bytes = 16u << 20;   // element bytes copied per map
  size_t max_nodes = 1u << 20;          // JSON nodes per map (all elements)
  size_t max_btf_bytes = 4u << 20;      // a map's BTF blob
  ksyms::RenderLimits render;           // per element
  // dump_bpf_maps, over all maps of a snapshot:
  size_t max_maps = 4096;               // maps listed from map_idr
  size_t max_total_bytes = 64u << 20;   // element bytes copied
  size_t max_total_nodes = 4u << 20;    // JSON nodes
  size_t max_btfs = 16;                 // distinct map BTFs parsed
};

// Offsets and names from the vmlinux BTF, computed once per run.
struct BpfLayout {
  XaNodeLayout xa_node;
  uint64_t idr_head = 0;  // offset of idr.idr_rt.xa_head
  // struct bpf_map
  uint64_t map_name = 0, map_name_size = 16, map_id = 0, map_type = 0, map_key_size = 0,
           map_value_size = 0, map_max_entries = 0, map_btf = 0, map_btf_value_type_id = 0;
  uint64_t map_struct_size = 0;
  // struct bpf_array
  uint64_t array_elem_size = 0, array_value = 0;
  // struct btf
  uint64_t btf_data = 0, btf_data_size = 0;
  std::optional<uint64_t> btf_base_btf, btf_start_id;  // split BTF markers, if present
  std::map<uint32_t, std::string> type_names;  // enum bpf_map_type, "array", ...

  static Result<BpfLayout> from_btf(const ksyms::KernelBtf& vmlinux);
  std::string type_name(uint32_t map_type) const;
};

// Every map in map_idr, in id order (at most xa_limits.max_entries). Fails
// only when map_idr itself or the layout cannot be found; an unreadable map
// becomes a MapRef with `error`.
Result<std::vector<MapRef>> list_bpf_maps(const guestmem::KernelSpace& space,
                                          const ksyms::SymbolTable& syms,
                                          const ksyms::KernelBtf& vmlinux);
Result<std::vector<MapRef>> list_bpf_maps(const guestmem::KernelSpace& space,
                                          const ksyms::SymbolTable& syms, const BpfLayout& layout,
                                          std::vector<std::string>* notes = nullptr,
                                          const XaLimits& xa_limits = {.max_entries = 4096});

// Parsed map BTFs by struct btf address, shared by maps of one BPF object
// (valid for one snapshot only: the guest may free and reuse them). At most
// DumpLimits.max_btfs entries are added.
using MapBtfCache = std::map<uint64_t, std::shared_ptr<const ksyms::KernelBtf>>;

// Metadata + rendered value of one map. Fails only on a map that could not
// be listed (ref.error); everything after that is a note on the dump.
Result<MapDump> dump_bpf_map(const guestmem::KernelSpace& space, const monitor::SchedReader& reader,
                             const ksyms::KernelBtf& vmlinux, const MapRef& ref,
                             const DumpLimits& limits = {});
Result<MapDump> dump_bpf_map(const guestmem::KernelSpace& space, const monitor::SchedReader& reader,
                             const BpfLayout& layout, const MapRef& ref, const DumpLimits& limits,
                             MapBtfCache* cache = nullptr);

// list + dump of every map, for a snapshot: unreadable maps are dumped with
// their error as the note; walk notes are appended to `errors`. The
// max_total_* budgets are shared by all maps: once spent, later maps are
// listed with metadata only and a note.
Result<std::vector<MapDump>> dump_bpf_maps(const guestmem::KernelSpace& space,
                                           const ksyms::SymbolTable& syms,
                                           const monitor::SchedReader& reader,
                                           const BpfLayout& layout, const DumpLimits& limits = {},
                                           std::vector<std::string>* errors = nullptr);

// A map by name: the exact name, else the one map whose name ends with
// `name` (".bss" -> "scx_simple.bss"). No match, or several, is a
// kNotFound / kInvalidArgument error listing the candidates.
Result<MapDump*> find_map(std::vector<MapDump>& maps, std::string_view name);
Result<const MapDump*> find_map(const std::vector<MapDump>& maps, std::string_view name);

}  // namespace ktstr::freeze
