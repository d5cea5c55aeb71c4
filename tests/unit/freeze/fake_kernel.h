// A made-up guest kernel for the freeze tests: a vmlinux-like BTF (just the
// structs and members freeze reads, at hand-picked offsets) written with
// libbpf's BTF writer, kallsyms text, and a RAM image addressed through
// the direct map (kva = kPob + pa). Tests poke structures into the image,
// then boot() turns it into PhysMemory + KernelSpace + SchedReader.
#pragma once

#include <bpf/btf.h>
#include <linux/btf.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "guestmem/kernel_space.h"
#include "guestmem/phys_memory.h"
#include "ksyms/btf.h"
#include "ksyms/symbols.h"
#include "monitor/sched_reader.h"

namespace ktstr::freeze::test {

inline constexpr uint64_t kPob = 0xffff888000000000ull;
inline constexpr uint64_t kva(uint64_t pa) { return kPob + pa; }
inline constexpr size_t kImageSize = 4u << 20;
inline constexpr uint64_t kOutsideRam = kva(64u << 20);

// Physical addresses of the fixed objects.
inline constexpr uint64_t kMapIdrPa = 0x1000;      // struct idr map_idr
inline constexpr uint64_t kPerCpuOffsetPa = 0x2000;  // __per_cpu_offset[]
inline constexpr uint64_t kInitTaskPa = 0x4000;    // struct task_struct init_task
inline constexpr uint64_t kGlobalPa = 0x5000;      // u64 scx_counter (a plain symbol)
inline constexpr uint64_t kRunqueuesPa = 0x100000;  // runqueues (per-CPU, cpu c at + c * kPcpuStride)
inline constexpr uint64_t kPcpuStride = 0x10000;

// Offsets in the synthetic vmlinux BTF.
namespace off {
inline constexpr uint64_t kXaHead = 8;       // xarray.xa_head == idr.idr_rt.xa_head
inline constexpr uint64_t kNodeShift = 0, kNodeSlots = 40, kNodeSize = 576;
inline constexpr uint64_t kMapType = 24, kKeySize = 28, kValueSize = 32, kMaxEntries = 36,
                          kId = 52, kBtfValueTypeId = 64, kBtf = 72, kName = 88, kMapSize = 128;
inline constexpr uint64_t kElemSize = 128, kValue = 144;  // struct bpf_array
inline constexpr uint64_t kBtfData = 0, kBtfDataSize = 80, kBtfBaseBtf = 88, kBtfStartId = 96,
                          kBtfSize = 104;
inline constexpr uint64_t kTaskPid = 8, kTaskTasks = 16, kTaskVruntime = 32, kTaskSum = 40,
                          kTaskFlagsWord = 48, kTaskSize = 64;
inline constexpr uint64_t kRqNrRunning = 0, kRqClock = 8, kRqSize = 64;
}  // namespace off

inline int must(int id, const char* what) {
  if (id < 0) throw std::runtime_error(std::string("building test BTF: ") + what);
  return id;
}

inline std::vector<uint8_t> raw_of(btf* b) {
  uint32_t size = 0;
  auto* raw = static_cast<const uint8_t*>(btf__raw_data(b, &size));
  if (!raw) throw std::runtime_error("btf__raw_data failed");
  std::vector<uint8_t> out(raw, raw + size);
  btf__free(b);
  return out;
}

inline std::vector<uint8_t> build_vmlinux_btf() {
  btf* b = btf__new_empty();
  int u8 = must(btf__add_int(b, "unsigned char", 1, 0), "u8");
  int u32 = must(btf__add_int(b, "unsigned int", 4, 0), "u32");
  int i32 = must(btf__add_int(b, "int", 4, BTF_INT_SIGNED), "int");
  int u64 = must(btf__add_int(b, "long long unsigned int", 8, 0), "u64");
  int chr = must(btf__add_int(b, "char", 1, BTF_INT_SIGNED), "char");
  int vptr = must(btf__add_ptr(b, 0), "void *");

  int xarray = must(btf__add_struct(b, "xarray", 16), "xarray");
  must(btf__add_field(b, "xa_lock", u32, 0, 0), "xa_lock");
  must(btf__add_field(b, "xa_flags", u32, 32, 0), "xa_flags");
  must(btf__add_field(b, "xa_head", vptr, 64, 0), "xa_head");
  must(btf__add_struct(b, "idr", 24), "idr");
  must(btf__add_field(b, "idr_rt", xarray, 0, 0), "idr_rt");
  must(btf__add_field(b, "idr_base", u32, 128, 0), "idr_base");
  must(btf__add_field(b, "idr_next", u32, 160, 0), "idr_next");

  int slots = must(btf__add_array(b, u32, vptr, 64), "slots");
  must(btf__add_struct(b, "xa_node", off::kNodeSize), "xa_node");
  must(btf__add_field(b, "shift", u8, 0, 0), "shift");
  must(btf__add_field(b, "offset", u8, 8, 0), "offset");
  must(btf__add_field(b, "count", u8, 16, 0), "count");
  must(btf__add_field(b, "parent", vptr, 64, 0), "parent");
  must(btf__add_field(b, "slots", slots, off::kNodeSlots * 8, 0), "slots");

  int map_type = must(btf__add_enum(b, "bpf_map_type", 4), "bpf_map_type");
  must(btf__add_enum_value(b, "BPF_MAP_TYPE_UNSPEC", 0), "unspec");
  must(btf__add_enum_value(b, "BPF_MAP_TYPE_HASH", 1), "hash");
  must(btf__add_enum_value(b, "BPF_MAP_TYPE_ARRAY", 2), "array");
  must(btf__add_enum_value(b, "BPF_MAP_TYPE_PERCPU_ARRAY", 6), "percpu_array");
  must(btf__add_enum_value(b, "BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED", 19), "cgs dep");
  must(btf__add_enum_value(b, "BPF_MAP_TYPE_CGROUP_STORAGE", 19), "cgs");

  int btf_fwd = must(btf__add_fwd(b, "btf", BTF_FWD_STRUCT), "btf fwd");
  int btf_ptr = must(btf__add_ptr(b, btf_fwd), "btf *");
  int name16 = must(btf__add_array(b, u32, chr, 16), "char[16]");
  int bpf_map = must(btf__add_struct(b, "bpf_map", off::kMapSize), "bpf_map");
  must(btf__add_field(b, "ops", vptr, 0, 0), "ops");
  must(btf__add_field(b, "map_type", map_type, off::kMapType * 8, 0), "map_type");
  must(btf__add_field(b, "key_size", u32, off::kKeySize * 8, 0), "key_size");
  must(btf__add_field(b, "value_size", u32, off::kValueSize * 8, 0), "value_size");
  must(btf__add_field(b, "max_entries", u32, off::kMaxEntries * 8, 0), "max_entries");
  must(btf__add_field(b, "id", u32, off::kId * 8, 0), "id");
  must(btf__add_field(b, "btf_value_type_id", u32, off::kBtfValueTypeId * 8, 0), "vtid");
  must(btf__add_field(b, "btf", btf_ptr, off::kBtf * 8, 0), "btf");
  must(btf__add_field(b, "name", name16, off::kName * 8, 0), "name");

  // struct bpf_array's value/pptrs live in an anonymous union of anonymous
  // structs, each with an empty struct first, as in the kernel.
  int empty = must(btf__add_struct(b, nullptr, 0), "empty");
  int value0 = must(btf__add_array(b, u32, chr, 0), "char[0]");
  int ptrs0 = must(btf__add_array(b, u32, vptr, 0), "void *[0]");
  int s_value = must(btf__add_struct(b, nullptr, 0), "anon value");
  must(btf__add_field(b, "__empty_value", empty, 0, 0), "__empty_value");
  must(btf__add_field(b, "value", value0, 0, 0), "value");
  int s_pptrs = must(btf__add_struct(b, nullptr, 0), "anon pptrs");
  must(btf__add_field(b, "__empty_pptrs", empty, 0, 0), "__empty_pptrs");
  must(btf__add_field(b, "pptrs", ptrs0, 0, 0), "pptrs");
  int un = must(btf__add_union(b, nullptr, 0), "anon union");
  must(btf__add_field(b, nullptr, s_value, 0, 0), "u value");
  must(btf__add_field(b, nullptr, s_pptrs, 0, 0), "u pptrs");
  must(btf__add_struct(b, "bpf_array", off::kValue), "bpf_array");
  must(btf__add_field(b, "map", bpf_map, 0, 0), "map");
  must(btf__add_field(b, "elem_size", u32, off::kElemSize * 8, 0), "elem_size");
  must(btf__add_field(b, "index_mask", u32, (off::kElemSize + 4) * 8, 0), "index_mask");
  must(btf__add_field(b, nullptr, un, off::kValue * 8, 0), "union");

  int btf_s = must(btf__add_struct(b, "btf", off::kBtfSize), "struct btf");
  (void)btf_s;
  must(btf__add_field(b, "data", vptr, off::kBtfData * 8, 0), "data");
  must(btf__add_field(b, "data_size", u32, off::kBtfDataSize * 8, 0), "data_size");
  must(btf__add_field(b, "base_btf", btf_ptr, off::kBtfBaseBtf * 8, 0), "base_btf");
  must(btf__add_field(b, "start_id", u32, off::kBtfStartId * 8, 0), "start_id");

  int lh_fwd = must(btf__add_fwd(b, "list_head", BTF_FWD_STRUCT), "list_head fwd");
  int lh_ptr = must(btf__add_ptr(b, lh_fwd), "list_head *");
  int list_head = must(btf__add_struct(b, "list_head", 16), "list_head");
  must(btf__add_field(b, "next", lh_ptr, 0, 0), "next");
  must(btf__add_field(b, "prev", lh_ptr, 64, 0), "prev");
  int se = must(btf__add_struct(b, "sched_entity", 16), "sched_entity");
  must(btf__add_field(b, "vruntime", u64, 0, 0), "vruntime");
  must(btf__add_field(b, "sum_exec_runtime", u64, 64, 0), "sum");
  must(btf__add_struct(b, "task_struct", off::kTaskSize), "task_struct");
  must(btf__add_field(b, "state", u32, 0, 0), "state");
  must(btf__add_field(b, "pid", i32, off::kTaskPid * 8, 0), "pid");
  must(btf__add_field(b, "tasks", list_head, off::kTaskTasks * 8, 0), "tasks");
  must(btf__add_field(b, "se", se, off::kTaskVruntime * 8, 0), "se");
  must(btf__add_field(b, "in_iowait", u32, off::kTaskFlagsWord * 8, 1), "in_iowait");

  int rq = must(btf__add_struct(b, "rq", off::kRqSize), "rq");
  must(btf__add_field(b, "nr_running", u32, off::kRqNrRunning * 8, 0), "nr_running");
  must(btf__add_field(b, "clock", u64, off::kRqClock * 8, 0), "clock");

  int rq_var = must(btf__add_var(b, "runqueues", BTF_VAR_GLOBAL_ALLOCATED, rq), "runqueues var");
  must(btf__add_datasec(b, ".data..percpu", off::kRqSize), ".data..percpu");
  must(btf__add_datasec_var_info(b, rq_var, 0, off::kRqSize), "runqueues info");
  return raw_of(b);
}

// A BPF object's own BTF: struct stats (5 fields, 32 bytes) and a .bss.
struct ProgBtf {
  std::vector<uint8_t> bytes;
  uint32_t stats = 0, bss = 0, u64 = 0;
};

inline ProgBtf build_prog_btf() {
  ProgBtf p;
  btf* b = btf__new_empty();
  int u32 = must(btf__add_int(b, "unsigned int", 4, 0), "u32");
  int u64 = must(btf__add_int(b, "long long unsigned int", 8, 0), "u64");
  p.u64 = static_cast<uint32_t>(u64);
  p.stats = static_cast<uint32_t>(must(btf__add_struct(b, "stats", 32), "stats"));
  must(btf__add_field(b, "nr_enq", u64, 0, 0), "nr_enq");
  must(btf__add_field(b, "nr_deq", u64, 64, 0), "nr_deq");
  must(btf__add_field(b, "vtime", u64, 128, 0), "vtime");
  must(btf__add_field(b, "cpu", u32, 192, 0), "cpu");
  must(btf__add_field(b, "flags", u32, 224, 0), "flags");
  int v1 = must(btf__add_var(b, "vtime_now", BTF_VAR_GLOBAL_ALLOCATED, u64), "vtime_now");
  int v2 = must(btf__add_var(b, "nr_dispatched", BTF_VAR_GLOBAL_ALLOCATED, u32), "nr_dispatched");
  p.bss = static_cast<uint32_t>(must(btf__add_datasec(b, ".bss", 16), ".bss"));
  must(btf__add_datasec_var_info(b, v1, 0, 8), "vtime_now info");
  must(btf__add_datasec_var_info(b, v2, 8, 4), "nr_dispatched info");
  p.bytes = raw_of(b);
  return p;
}

struct MapSpec {
  uint32_t id = 0, type = 2, key_size = 4, value_size = 0, max_entries = 0;
  uint64_t btf = 0;  // kva of struct btf
  uint32_t value_type_id = 0;
  std::string name;
  uint32_t elem_size = 0;  // bpf_array.elem_size (0 = round_up(value_size, 8))
};

class FakeKernel {
 public:
  explicit FakeKernel(uint32_t nr_cpus = 2) : nr_cpus_(nr_cpus), image_(kImageSize) {
    for (uint32_t c = 0; c < nr_cpus; ++c) put(kPerCpuOffsetPa + 8 * c, c * kPcpuStride, 8);
    // init_task: pid 0, an empty task list (tasks.next == &init_task.tasks).
    put(kInitTaskPa + off::kTaskTasks, kva(kInitTaskPa + off::kTaskTasks), 8);
    symbol("map_idr", kva(kMapIdrPa));
    symbol("__per_cpu_offset", kva(kPerCpuOffsetPa));
    symbol("init_task", kva(kInitTaskPa));
    symbol("runqueues", kva(kRunqueuesPa));
    symbol("scx_counter", kva(kGlobalPa));
  }

  void put(uint64_t pa, uint64_t v, unsigned width) {
    for (unsigned i = 0; i < width; ++i) image_.at(pa + i) = static_cast<uint8_t>(v >> (8 * i));
  }
  void put_bytes(uint64_t pa, const std::vector<uint8_t>& bytes) {
    std::copy(bytes.begin(), bytes.end(), image_.begin() + static_cast<long>(pa));
  }
  uint64_t get(uint64_t pa, unsigned width) const {
    uint64_t v = 0;
    for (unsigned i = width; i-- > 0;) v = (v << 8) | image_.at(pa + i);
    return v;
  }
  void symbol(const std::string& name, uint64_t addr) {
    kallsyms_ += fmt_hex(addr) + " D " + name + "\n";
  }

  // struct btf at `pa`, its data right after; returns the struct's kva.
  uint64_t place_btf(uint64_t pa, const std::vector<uint8_t>& raw, uint32_t start_id = 0) {
    const uint64_t data = pa + 0x100;
    put(pa + off::kBtfData, kva(data), 8);
    put(pa + off::kBtfDataSize, raw.size(), 4);
    put(pa + off::kBtfStartId, start_id, 4);
    put_bytes(data, raw);
    return kva(pa);
  }
  // struct bpf_map (struct bpf_array for arrays) at `pa`; returns its kva.
  uint64_t place_map(uint64_t pa, const MapSpec& m) {
    put(pa + off::kMapType, m.type, 4);
    put(pa + off::kKeySize, m.key_size, 4);
    put(pa + off::kValueSize, m.value_size, 4);
    put(pa + off::kMaxEntries, m.max_entries, 4);
    put(pa + off::kId, m.id, 4);
    put(pa + off::kBtfValueTypeId, m.value_type_id, 4);
    put(pa + off::kBtf, m.btf, 8);
    for (size_t i = 0; i < m.name.size() && i < 16; ++i) image_.at(pa + off::kName + i) = m.name[i];
    put(pa + off::kElemSize, m.elem_size ? m.elem_size : (m.value_size + 7) / 8 * 8, 4);
    return kva(pa);
  }
  // Array element i's bytes start here (physical).
  static uint64_t elem_pa(uint64_t map_pa, uint32_t elem_size, uint32_t i) {
    return map_pa + off::kValue + uint64_t{i} * elem_size;
  }
  void set_xa_head(uint64_t entry) { put(kMapIdrPa + off::kXaHead, entry, 8); }
  // xa_node at `pa` with `shift`; returns its tagged entry (kva | 2).
  uint64_t node(uint64_t pa, unsigned shift) {
    put(pa + off::kNodeShift, shift, 1);
    return kva(pa) | 2;
  }
  void slot(uint64_t node_pa, unsigned i, uint64_t entry) {
    put(node_pa + off::kNodeSlots + 8 * i, entry, 8);
  }

  // Links a task (pid) into init_task.tasks after the last one.
  void add_task(uint64_t pa, uint32_t pid) {
    put(pa + off::kTaskPid, pid, 4);
    const uint64_t head = kva(kInitTaskPa + off::kTaskTasks);
    uint64_t last = kInitTaskPa;
    while (get(last + off::kTaskTasks, 8) != head) last = get(last + off::kTaskTasks, 8) - kPob - off::kTaskTasks;
    put(last + off::kTaskTasks, kva(pa + off::kTaskTasks), 8);
    put(pa + off::kTaskTasks, head, 8);
  }

  void boot(guestmem::Access access = guestmem::Access::kReadWrite) {
    mem_ = std::make_unique<guestmem::PhysMemory>(guestmem::PhysMemory::from_image(image_, 0, access));
    guestmem::KernelLayout layout;
    layout.page_offset_base = kPob;
    layout.paging_levels = 4;
    space_ = std::make_unique<guestmem::KernelSpace>(*mem_, layout);
    syms_ = ksyms::SymbolTable::parse_kallsyms(kallsyms_);
    auto b = ksyms::KernelBtf::from_bytes(build_vmlinux_btf());
    if (!b.ok()) throw std::runtime_error("vmlinux BTF: " + b.error().message());
    btf_ = std::move(b).value();
    auto r = monitor::SchedReader::create(syms_, btf_, nr_cpus_);
    if (!r.ok()) throw std::runtime_error("SchedReader: " + r.error().message());
    reader_.emplace(std::move(r).value());
  }

  const guestmem::PhysMemory& memory() const { return *mem_; }
  const guestmem::KernelSpace& space() const { return *space_; }
  const ksyms::SymbolTable& syms() const { return syms_; }
  const ksyms::KernelBtf& btf() const { return btf_; }
  const monitor::SchedReader& reader() const { return *reader_; }
  uint32_t nr_cpus() const { return nr_cpus_; }

  // FNV-1a of all of guest RAM as it is now (after boot).
  uint64_t checksum() const {
    std::vector<uint8_t> all(kImageSize);
    if (!mem_->read(0, all).ok()) throw std::runtime_error("checksum read failed");
    uint64_t h = 1469598103934665603ull;
    for (uint8_t c : all) h = (h ^ c) * 1099511628211ull;
    return h;
  }
  uint64_t read_back(uint64_t pa, unsigned width) const { return *mem_->read_uint(pa, width); }

 private:
  static std::string fmt_hex(uint64_t v) {
    static const char* digits = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = digits[v & 15];
    return s;
  }

  uint32_t nr_cpus_;
  std::vector<uint8_t> image_;
  std::string kallsyms_;
  std::unique_ptr<guestmem::PhysMemory> mem_;
  std::unique_ptr<guestmem::KernelSpace> space_;
  ksyms::SymbolTable syms_;
  ksyms::KernelBtf btf_;
  std::optional<monitor::SchedReader> reader_;
};

}  // namespace ktstr::freeze::test
