// BPF maps out of guest memory: map_idr walk, map BTF, array rendering.
#include "freeze/bpf_maps.h"

#include <bpf/btf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace ktstr::freeze {

namespace {

constexpr unsigned kMaxErrorNotes = 3;  // per map: first few element failures

uint64_t load_le(std::span<const uint8_t> bytes, uint64_t off, unsigned width) {
  uint64_t v = 0;
  for (unsigned i = width; i-- > 0;) v = (v << 8) | bytes[off + i];
  return v;
}

std::string printable(std::span<const uint8_t> bytes) {
  std::string s;
  for (uint8_t c : bytes) {
    if (c == 0) break;
    s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return s;
}

// A member of `outer` that must be `width` bytes wide.
Result<uint64_t> member(const ksyms::KernelBtf& btf, std::string_view outer, std::string_view path,
                        uint64_t width) {
  KTSTR_ASSIGN(auto f, btf.field(outer, path));
  if (width != 0 && f.size != width)
    return invalid_argument(
        fmt::format("{}.{} is {} bytes, expected {}", outer, path, f.size, width));
  return f.offset;
}

std::map<uint32_t, std::string> map_type_names(const ksyms::KernelBtf& btf) {
  std::map<uint32_t, std::string> names;
  const struct btf* raw = btf.raw();
  if (raw == nullptr) return names;
  int id = btf__find_by_name_kind(raw, "bpf_map_type", BTF_KIND_ENUM);
  if (id <= 0) return names;
  const btf_type* t = btf__type_by_id(raw, static_cast<uint32_t>(id));
  const struct btf_enum* e = btf_enum(t);
  constexpr std::string_view kPrefix = "BPF_MAP_TYPE_";
  for (uint16_t i = 0; i < btf_vlen(t); ++i, ++e) {
    const char* n = btf__name_by_offset(raw, e->name_off);
    if (n == nullptr) continue;
    std::string_view name(n);
    if (name.starts_with(kPrefix)) name.remove_prefix(kPrefix.size());
    const auto value = static_cast<uint32_t>(e->val);
    // Aliases share a value (CGROUP_STORAGE_DEPRECATED = CGROUP_STORAGE): keep the live name.
    if (name.ends_with("_DEPRECATED") && names.contains(value)) continue;
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    names[value] = std::move(lower);
  }
  return names;
}

bool is_datasec(const ksyms::KernelBtf& btf, uint32_t type_id) {
  const btf_type* t = btf__type_by_id(btf.raw(), btf.resolve(type_id));
  return t != nullptr && btf_is_datasec(t);
}

// Map BTF: struct btf {data, data_size} copied out of the guest, parsed.
Result<std::shared_ptr<const ksyms::KernelBtf>> load_map_btf(const guestmem::KernelSpace& space,
                                                             const BpfLayout& l, uint64_t btf_kva,
                                                             const DumpLimits& limits) {
  if (l.btf_base_btf) {
    KTSTR_ASSIGN(uint64_t base, space.read_u64(btf_kva + *l.btf_base_btf), "reading btf.base_btf");
    if (base != 0) return invalid_argument("split BTF not supported");
  }
  if (l.btf_start_id) {
    KTSTR_ASSIGN(uint32_t start, space.read_u32(btf_kva + *l.btf_start_id), "reading btf.start_id");
    if (start != 0) return invalid_argument("split BTF not supported");
  }
  KTSTR_ASSIGN(uint64_t data, space.read_u64(btf_kva + l.btf_data), "reading btf.data");
  KTSTR_ASSIGN(uint32_t size, space.read_u32(btf_kva + l.btf_data_size), "reading btf.data_size");
  if (size == 0 || size > limits.max_btf_bytes)
    return invalid_argument(
        fmt::format("map BTF size {} outside 1..{} bytes", size, limits.max_btf_bytes));
  std::vector<uint8_t> raw(size);
  KTSTR_TRY(space.read(data, raw), fmt::format("reading {} bytes of map BTF", size));
  KTSTR_ASSIGN(auto parsed, ksyms::KernelBtf::from_bytes(raw), "parsing map BTF");
  return std::make_shared<const ksyms::KernelBtf>(std::move(parsed));
}

// Renders one element; failures become null plus (the first few) notes.
// Spends a JSON node budget shared by all elements of the map.
struct ElementRenderer {
  const ksyms::KernelBtf& btf;
  uint32_t type_id;
  ksyms::RenderLimits limits;
  size_t node_budget;
  std::vector<std::string>& errors;
  size_t failures = 0;
  size_t nodes = 0;

  bool exhausted() const { return nodes >= node_budget; }

  // `where` is only called on failure: formatting it per element is costly.
  template <typename Where>
  nlohmann::json operator()(std::span<const uint8_t> bytes, Where&& where) {
    ksyms::RenderLimits l = limits;
    l.max_nodes = std::min(l.max_nodes, node_budget - std::min(nodes, node_budget));
    auto r = ksyms::render(btf, type_id, bytes, l);
    if (r.ok()) {
      nodes += ksyms::count_nodes(*r);
      return std::move(r).value();
    }
    ++nodes;
    fail(where(), r.error().message());
    return nullptr;
  }
  void fail(std::string_view where, const std::string& why) {
    if (failures++ < kMaxErrorNotes) errors.push_back(fmt::format("{}: {}", where, why));
  }
};

// A stand-in BTF for maps declared with key_size/value_size only (no BTF
// value type), like scx_simple's per-CPU `stats`: values of 1, 2, 4 or 8
// bytes render as unsigned integers, other sizes as a list of bytes.
struct RawValueType {
  std::shared_ptr<const ksyms::KernelBtf> btf;
  uint32_t type_id = 0;
  std::string note;
};
Result<RawValueType> raw_value_type(uint32_t value_size) {
  std::unique_ptr<struct btf, decltype(&btf__free)> b(btf__new_empty(), btf__free);
  if (!b) return Error(Errc::kInternal, "btf__new_empty failed");
  const bool scalar = value_size == 1 || value_size == 2 || value_size == 4 || value_size == 8;
  int id = btf__add_int(b.get(), scalar ? "u64" : "u8", scalar ? value_size : 1, 0);
  if (id > 0 && !scalar) id = btf__add_array(b.get(), id, id, value_size);
  if (id <= 0) return Error(Errc::kInternal, "building a stand-in BTF failed");
  uint32_t size = 0;
  const void* raw = btf__raw_data(b.get(), &size);
  KTSTR_ASSIGN(auto kb, ksyms::KernelBtf::from_bytes({static_cast<const uint8_t*>(raw), size}));
  return RawValueType{std::make_shared<const ksyms::KernelBtf>(std::move(kb)), static_cast<uint32_t>(id),
                      scalar ? fmt::format("no BTF value type: values shown as {}-byte unsigned integers",
                                           value_size)
                             : "no BTF value type: values shown as bytes"};
}

std::string join_notes(const std::vector<std::string>& parts, size_t failures) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  if (failures > kMaxErrorNotes)
    out += fmt::format("{}{} more element errors", out.empty() ? "" : "; ", failures - kMaxErrorNotes);
  return out;
}

// Number of elements that fit every bound, with a note when short.
uint64_t bounded_count(const MapRef& ref, uint64_t bytes_per_elem, const DumpLimits& limits,
                       std::vector<std::string>& notes) {
  uint64_t n = std::min<uint64_t>(ref.max_entries, limits.max_entries);
  if (bytes_per_elem > 0) n = std::min<uint64_t>(n, limits.max_value_bytes / bytes_per_elem);
  if (n < ref.max_entries)
    notes.push_back(fmt::format("rendered {} of {} entries (limit)", n, ref.max_entries));
  return n;
}

nlohmann::json render_array(const guestmem::KernelSpace& space, const BpfLayout& l,
                            const MapRef& ref, ElementRenderer& render, const DumpLimits& limits,
                            std::vector<std::string>& notes) {
  auto elem_size_r = space.read_u32(ref.kva + l.array_elem_size);
  if (!elem_size_r.ok()) {
    notes.push_back("reading bpf_array.elem_size: " + elem_size_r.error().message());
    return nullptr;
  }
  const uint64_t elem_size = *elem_size_r;
  // The kernel uses round_up(value_size, 8); allow some slack, no more.
  if (elem_size < ref.value_size || elem_size == 0 || elem_size > uint64_t{ref.value_size} + 64) {
    notes.push_back(fmt::format("bpf_array.elem_size {} does not fit value_size {}", elem_size,
                                ref.value_size));
    return nullptr;
  }
  const bool datasec = is_datasec(render.btf, render.type_id);
  const uint64_t n = bounded_count(ref, elem_size, limits, notes);
  const uint64_t base = ref.kva + l.array_value;
  std::vector<uint8_t> bytes(n * elem_size);
  const bool bulk_ok = space.read(base, bytes).ok();
  nlohmann::json list = nlohmann::json::array();
  for (uint64_t i = 0; i < n; ++i) {
    if (render.exhausted()) {
      notes.push_back(fmt::format("output budget of {} JSON nodes spent after {} of {} entries",
                                  render.node_budget, i, ref.max_entries));
      break;
    }
    std::span<uint8_t> elem(bytes.data() + i * elem_size, ref.value_size);
    auto where = [i] { return fmt::format("[{}]", i); };
    if (!bulk_ok) {
      if (auto st = space.read(base + i * elem_size, elem); !st.ok()) {
        render.fail(where(), st.error().message());
        list.push_back(nullptr);
        continue;
      }
    }
    list.push_back(render(elem, where));
  }
  // A BPF object's .bss/.data/.rodata: one DATASEC value, shown as itself.
  if (datasec && ref.max_entries == 1) return list.empty() ? nullptr : std::move(list[0]);
  return list;
}

nlohmann::json render_percpu_array(const guestmem::KernelSpace& space,
                                   const monitor::SchedReader& reader, const BpfLayout& l,
                                   const MapRef& ref, ElementRenderer& render,
                                   const DumpLimits& limits, std::vector<std::string>& notes) {
  const uint32_t cpus = reader.nr_cpus();
  const uint64_t value_bytes = (uint64_t{ref.value_size} + 7) & ~uint64_t{7};
  const uint64_t n = bounded_count(ref, value_bytes * std::max<uint32_t>(cpus, 1), limits, notes);
  std::vector<uint8_t> ptrs(n * 8);
  if (auto st = space.read(ref.kva + l.array_value, ptrs); !st.ok()) {
    notes.push_back("reading bpf_array.pptrs: " + st.error().message());
    return nullptr;
  }
  std::vector<uint8_t> value(ref.value_size);
  nlohmann::json list = nlohmann::json::array();
  for (uint64_t i = 0; i < n; ++i) {
    if (render.exhausted()) {
      notes.push_back(fmt::format("output budget of {} JSON nodes spent after {} of {} entries",
                                  render.node_budget, i, ref.max_entries));
      break;
    }
    const uint64_t pptr = load_le(ptrs, i * 8, 8);
    nlohmann::json per_cpu = nlohmann::json::array();
    for (uint32_t cpu = 0; cpu < cpus; ++cpu) {
      auto where = [i, cpu] { return fmt::format("[{}] cpu {}", i, cpu); };
      auto addr = reader.per_cpu_address(space, pptr, cpu);
      Status st = addr.ok() ? space.read(*addr, value) : Status(addr.error());
      if (!st.ok()) {
        render.fail(where(), st.error().message());
        per_cpu.push_back(nullptr);
        continue;
      }
      per_cpu.push_back(render(value, where));
    }
    list.push_back(std::move(per_cpu));
  }
  return list;
}

template <typename Vec, typename Ptr>
Result<Ptr> find_map_in(Vec& maps, std::string_view name) {
  for (auto& m : maps)
    if (m.name == name) return &m;
  Ptr match = nullptr;
  std::vector<std::string> candidates;
  for (auto& m : maps) {
    if (!name.empty() && std::string_view(m.name).ends_with(name)) {
      match = &m;
      candidates.push_back(m.name);
    }
  }
  if (candidates.size() == 1) return match;
  auto list = [](const auto& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  if (candidates.empty()) {
    std::vector<std::string> all;
    for (auto& m : maps) all.push_back(m.name);
    return not_found(fmt::format("no map named '{}' (maps: {})", name,
                                 all.empty() ? std::string("none") : list(all)));
  }
  return invalid_argument(
      fmt::format("map name '{}' is ambiguous: matches {}", name, list(candidates)));
}

}  // namespace

Result<BpfLayout> BpfLayout::from_btf(const ksyms::KernelBtf& b) {
  BpfLayout l;
  KTSTR_ASSIGN(l.xa_node, XaNodeLayout::from_btf(b));
  KTSTR_ASSIGN(l.idr_head, member(b, "idr", "idr_rt.xa_head", 8), "BPF map layout");
  auto name = b.field("bpf_map", "name");
  if (!name.ok()) return std::move(name).error().context("BPF map layout");
  if (name->size == 0 || name->size > 256)
    return invalid_argument(fmt::format("BPF map layout: bpf_map.name is {} bytes", name->size));
  l.map_name = name->offset;
  l.map_name_size = name->size;
  KTSTR_ASSIGN(l.map_id, member(b, "bpf_map", "id", 4), "BPF map layout");
  KTSTR_ASSIGN(l.map_type, member(b, "bpf_map", "map_type", 4), "BPF map layout");
  KTSTR_ASSIGN(l.map_key_size, member(b, "bpf_map", "key_size", 4), "BPF map layout");
  KTSTR_ASSIGN(l.map_value_size, member(b, "bpf_map", "value_size", 4), "BPF map layout");
  KTSTR_ASSIGN(l.map_max_entries, member(b, "bpf_map", "max_entries", 4), "BPF map layout");
  KTSTR_ASSIGN(l.map_btf, member(b, "bpf_map", "btf", 8), "BPF map layout");
  KTSTR_ASSIGN(l.map_btf_value_type_id, member(b, "bpf_map", "btf_value_type_id", 4),
               "BPF map layout");
  l.map_struct_size = std::max({l.map_name + l.map_name_size, l.map_id + 4, l.map_type + 4,
                                l.map_key_size + 4, l.map_value_size + 4, l.map_max_entries + 4,
                                l.map_btf + 8, l.map_btf_value_type_id + 4});
  KTSTR_ASSIGN(l.array_elem_size, member(b, "bpf_array", "elem_size", 4), "BPF map layout");
  KTSTR_ASSIGN(l.array_value, member(b, "bpf_array", "value", 0), "BPF map layout");
  KTSTR_ASSIGN(l.btf_data, member(b, "btf", "data", 8), "BPF map layout");
  KTSTR_ASSIGN(l.btf_data_size, member(b, "btf", "data_size", 4), "BPF map layout");
  if (auto f = member(b, "btf", "base_btf", 8); f.ok()) l.btf_base_btf = *f;
  if (auto f = member(b, "btf", "start_id", 4); f.ok()) l.btf_start_id = *f;
  l.type_names = map_type_names(b);
  return l;
}

std::string BpfLayout::type_name(uint32_t t) const {
  if (auto it = type_names.find(t); it != type_names.end()) return it->second;
  return fmt::format("type {}", t);
}

Result<std::vector<MapRef>> list_bpf_maps(const guestmem::KernelSpace& space,
                                          const ksyms::SymbolTable& syms,
                                          const ksyms::KernelBtf& vmlinux) {
  KTSTR_ASSIGN(auto layout, BpfLayout::from_btf(vmlinux));
  return list_bpf_maps(space, syms, layout);
}

Result<std::vector<MapRef>> list_bpf_maps(const guestmem::KernelSpace& space,
                                          const ksyms::SymbolTable& syms, const BpfLayout& l,
                                          std::vector<std::string>* notes,
                                          const XaLimits& xa_limits) {
  KTSTR_ASSIGN(uint64_t idr, syms.require("map_idr"), "listing BPF maps");
  KTSTR_ASSIGN(uint64_t head, space.read_u64(idr + l.idr_head), "reading map_idr");
  XaWalk walk = walk_xarray(space, head, l.xa_node, xa_limits);
  if (notes != nullptr)
    for (auto& n : walk.notes) notes->push_back("map_idr: " + n);

  std::vector<MapRef> maps;
  std::vector<uint8_t> raw(l.map_struct_size);
  for (const auto& e : walk.entries) {
    MapRef ref;
    ref.kva = e.pointer;
    ref.index = e.index;
    if (auto st = space.read(e.pointer, raw); !st.ok()) {
      ref.id = static_cast<uint32_t>(e.index);
      ref.error = fmt::format("struct bpf_map at 0x{:x} (id {}): {}", e.pointer, e.index,
                              st.error().message());
      maps.push_back(std::move(ref));
      continue;
    }
    ref.name = printable(std::span(raw).subspan(l.map_name, l.map_name_size));
    ref.id = static_cast<uint32_t>(load_le(raw, l.map_id, 4));
    ref.map_type = static_cast<uint32_t>(load_le(raw, l.map_type, 4));
    ref.type_name = l.type_name(ref.map_type);
    ref.key_size = static_cast<uint32_t>(load_le(raw, l.map_key_size, 4));
    ref.value_size = static_cast<uint32_t>(load_le(raw, l.map_value_size, 4));
    ref.max_entries = static_cast<uint32_t>(load_le(raw, l.map_max_entries, 4));
    ref.btf = load_le(raw, l.map_btf, 8);
    ref.btf_value_type_id = static_cast<uint32_t>(load_le(raw, l.map_btf_value_type_id, 4));
    maps.push_back(std::move(ref));
  }
  return maps;
}

Result<MapDump> dump_bpf_map(const guestmem::KernelSpace& space, const monitor::SchedReader& reader,
                             const ksyms::KernelBtf& vmlinux, const MapRef& ref,
                             const DumpLimits& limits) {
  KTSTR_ASSIGN(auto layout, BpfLayout::from_btf(vmlinux));
  return dump_bpf_map(space, reader, layout, ref, limits);
}

Result<MapDump> dump_bpf_map(const guestmem::KernelSpace& space, const monitor::SchedReader& reader,
                             const BpfLayout& l, const MapRef& ref, const DumpLimits& limits,
                             MapBtfCache* cache) {
  if (!ref.error.empty()) return invalid_argument(ref.error);
  MapDump d;
  d.id = ref.id;
  d.name = ref.name;
  d.map_type = ref.map_type;
  d.type_name = ref.type_name;
  d.key_size = ref.key_size;
  d.value_size = ref.value_size;
  d.max_entries = ref.max_entries;

  std::vector<std::string> notes;
  auto finish = [&](std::vector<std::string> n, size_t failures = 0) {
    d.note = join_notes(n, failures);
    return d;
  };
  if (ref.map_type != kBpfMapTypeArray && ref.map_type != kBpfMapTypePercpuArray)
    return finish({fmt::format("map type {} not rendered", ref.type_name)});
  std::shared_ptr<const ksyms::KernelBtf> btf;
  uint32_t value_type = ref.btf_value_type_id;
  if (ref.btf == 0 || ref.btf_value_type_id == 0) {
    auto raw = raw_value_type(ref.value_size);
    if (!raw.ok()) return finish({raw.error().message()});
    btf = raw->btf;
    value_type = raw->type_id;
    notes.push_back(raw->note);
  }
  if (!btf && cache != nullptr)
    if (auto it = cache->find(ref.btf); it != cache->end()) btf = it->second;
  if (!btf) {
    if (cache != nullptr && cache->size() >= limits.max_btfs)
      return finish({fmt::format("more than {} distinct map BTFs in one snapshot",
                                 limits.max_btfs)});
    auto loaded = load_map_btf(space, l, ref.btf, limits);
    if (!loaded.ok()) return finish({loaded.error().message()});
    btf = std::move(loaded).value();
    if (cache != nullptr) (*cache)[ref.btf] = btf;
  }
  auto type_size = btf->type_size(value_type);
  if (!type_size.ok())
    return finish({fmt::format("value type {}: {}", value_type, type_size.error().message())});
  if (*type_size > ref.value_size)
    return finish({fmt::format("value type {} is {} bytes, map values are {}",
                               btf->type_name(value_type), *type_size, ref.value_size)});

  ElementRenderer render{*btf, value_type, limits.render, limits.max_nodes, notes};
  if (ref.map_type == kBpfMapTypeArray)
    d.value = render_array(space, l, ref, render, limits, notes);
  else
    d.value = render_percpu_array(space, reader, l, ref, render, limits, notes);
  return finish(notes, render.failures);
}

Result<std::vector<MapDump>> dump_bpf_maps(const guestmem::KernelSpace& space,
                                           const ksyms::SymbolTable& syms,
                                           const monitor::SchedReader& reader,
                                           const BpfLayout& layout, const DumpLimits& limits,
                                           std::vector<std::string>* errors) {
  KTSTR_ASSIGN(auto refs, list_bpf_maps(space, syms, layout, errors, {.max_entries = limits.max_maps}));
  MapBtfCache cache;
  std::vector<MapDump> out;
  out.reserve(refs.size());
  size_t bytes_left = limits.max_total_bytes, nodes_left = limits.max_total_nodes;
  for (const auto& ref : refs) {
    DumpLimits map_limits = limits;
    map_limits.max_value_bytes = std::min(limits.max_value_bytes, bytes_left);
    map_limits.max_nodes = std::min(limits.max_nodes, nodes_left);
    auto d = dump_bpf_map(space, reader, layout, ref, map_limits, &cache);
    if (d.ok()) {
      // What this map spent: its rendered values' nodes and bytes.
      const size_t entries = d->value.is_array() ? d->value.size() : d->value.is_null() ? 0 : 1;
      const size_t per_entry = ref.map_type == kBpfMapTypePercpuArray
                                   ? size_t{ref.value_size} * reader.nr_cpus()
                                   : ref.value_size;
      bytes_left -= std::min(bytes_left, entries * per_entry);
      nodes_left -= std::min(nodes_left, ksyms::count_nodes(d->value));
      out.push_back(std::move(d).value());
      continue;
    }
    MapDump bad;
    bad.id = ref.id;
    bad.name = ref.name.empty() ? fmt::format("map#{}", ref.index) : ref.name;
    bad.note = d.error().message();
    out.push_back(std::move(bad));
  }
  return out;
}

Result<MapDump*> find_map(std::vector<MapDump>& maps, std::string_view name) {
  return find_map_in<std::vector<MapDump>, MapDump*>(maps, name);
}

Result<const MapDump*> find_map(const std::vector<MapDump>& maps, std::string_view name) {
  return find_map_in<const std::vector<MapDump>, const MapDump*>(maps, name);
}

}  // namespace ktstr::freeze
