#include "monitor/synthetic_kernel.h"

#include <bpf/btf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace ktstr::monitor {

namespace {

using guestmem::kStartKernelMap;

// Kernel image: symbol kva = kStartKernelMap + offset, physical kPhysBase + offset.
constexpr uint64_t kEnableStateOff = 0x1000;
constexpr uint64_t kScxRootOff = 0x1008;
constexpr uint64_t kJiffiesOff = 0x1010;
constexpr uint64_t kNrCpuIdsOff = 0x1018;
constexpr uint64_t kPerCpuOffsetOff = 0x2000;      // up to 1024 CPUs x 8 bytes
constexpr uint64_t kPerCpuTemplateOff = 0x800000;  // runqueues; never read itself
// Direct map: physical addresses.
constexpr uint64_t kScxSchedPhys = 0x280000;
constexpr uint64_t kTasksPhys = 0x290000;  // 0x100 per CPU
constexpr uint64_t kTaskSize = 0x100;
constexpr uint64_t kAreasPhys = 0x300000;  // per-CPU areas
constexpr uint64_t kAreaSize = 0x2000;
constexpr uint64_t kPcpuInArea = 0x1000;  // struct scx_sched_pcpu within an area
constexpr uint32_t kMaxCpus = 1024;

// Member offsets of the synthetic structs.
constexpr uint32_t kRqSize = 0x400, kRqNrRunning = 0x4, kRqClock = 0x100, kRqCurr = 0x180,
                   kRqScx = 0x200;
constexpr uint32_t kScxRqSize = 0x80, kScxRqNrRunning = 0x58, kScxRqFlags = 0x64;
constexpr uint32_t kDsqSize = 0x40, kDsqNr = 0x20;
constexpr uint32_t kTaskPid = 0x40;
constexpr uint32_t kSchedSize = 0x100, kSchedPcpu = 0x48;
constexpr uint32_t kSchedPcpuFlags = 0x8, kSchedPcpuStats = 0x10;

uint64_t image_kva(uint64_t off) { return kStartKernelMap + off; }
uint64_t direct_kva(uint64_t phys) { return SyntheticKernel::kPageOffsetBase + phys; }

// Fails loudly: a libbpf error here is a bug in this file.
int check(int id, const char* what) {
  if (id < 0) {
    std::fprintf(stderr, "synthetic BTF: adding %s failed (%d)\n", what, id);
    std::abort();
  }
  return id;
}

std::vector<uint8_t> build_btf(const SyntheticOptions& o) {
  struct btf* b = btf__new_empty();
  if (!b) std::abort();
  const int u32 = check(btf__add_int(b, "unsigned int", 4, 0), "u32");
  const int s32 = check(btf__add_int(b, "int", 4, BTF_INT_SIGNED), "int");
  const int u64 = check(btf__add_int(b, "long long unsigned int", 8, 0), "u64");
  const int s64 = check(btf__add_int(b, "long long int", 8, BTF_INT_SIGNED), "s64");

  const int task = check(btf__add_struct(b, "task_struct", kTaskSize), "task_struct");
  check(btf__add_field(b, "pid", s32, kTaskPid * 8, 0), "task_struct.pid");
  const int task_ptr = check(btf__add_ptr(b, task), "task_struct *");

  const int dsq = check(btf__add_struct(b, "scx_dispatch_q", kDsqSize), "scx_dispatch_q");
  check(btf__add_field(b, "nr", u32, kDsqNr * 8, 0), "scx_dispatch_q.nr");
  check(btf__add_field(b, "seq", u32, (kDsqNr + 4) * 8, 0), "scx_dispatch_q.seq");

  const int scx_rq = check(btf__add_struct(b, "scx_rq", kScxRqSize), "scx_rq");
  check(btf__add_field(b, "local_dsq", dsq, 0, 0), "scx_rq.local_dsq");
  check(btf__add_field(b, "nr_running", u32, kScxRqNrRunning * 8, 0), "scx_rq.nr_running");
  check(btf__add_field(b, "flags", u32, kScxRqFlags * 8, 0), "scx_rq.flags");

  check(btf__add_struct(b, "rq", kRqSize), "rq");
  check(btf__add_field(b, "nr_running", u32, kRqNrRunning * 8, 0), "rq.nr_running");
  check(btf__add_field(b, "clock", u64, kRqClock * 8, 0), "rq.clock");
  if (o.rq_curr) check(btf__add_field(b, "curr", task_ptr, kRqCurr * 8, 0), "rq.curr");
  if (o.rq_scx) check(btf__add_field(b, "scx", scx_rq, kRqScx * 8, 0), "rq.scx");

  if (o.events) {
    const uint32_t n = static_cast<uint32_t>(o.event_names.size());
    const int stats = check(btf__add_struct(b, "scx_event_stats", 8 * n), "scx_event_stats");
    for (uint32_t i = 0; i < n; ++i)
      check(btf__add_field(b, ("SCX_EV_" + o.event_names[i]).c_str(), s64, i * 64, 0), "event");
    const int pcpu =
        check(btf__add_struct(b, "scx_sched_pcpu", kSchedPcpuStats + 8 * n), "scx_sched_pcpu");
    check(btf__add_field(b, "flags", u64, kSchedPcpuFlags * 8, 0), "scx_sched_pcpu.flags");
    check(btf__add_field(b, "event_stats", stats, kSchedPcpuStats * 8, 0), "event_stats");
    const int pcpu_ptr = check(btf__add_ptr(b, pcpu), "scx_sched_pcpu *");
    check(btf__add_struct(b, "scx_sched", kSchedSize), "scx_sched");
    check(btf__add_field(b, "pcpu", pcpu_ptr, kSchedPcpu * 8, 0), "scx_sched.pcpu");
  }
  if (o.enable_state) {
    check(btf__add_enum(b, "scx_enable_state", 4), "scx_enable_state");
    const char* names[] = {"SCX_ENABLING", "SCX_ENABLED", "SCX_DISABLING", "SCX_DISABLED"};
    for (int i = 0; i < 4; ++i) check(btf__add_enum_value(b, names[i], i), names[i]);
  }
  uint32_t size = 0;
  const void* raw = btf__raw_data(b, &size);
  if (!raw) std::abort();
  std::vector<uint8_t> out(static_cast<const uint8_t*>(raw),
                           static_cast<const uint8_t*>(raw) + size);
  btf__free(b);
  return out;
}

std::string build_kallsyms(const SyntheticOptions& o) {
  std::string s;
  auto sym = [&s](uint64_t kva, char type, const char* name) {
    s += fmt::format("{:016x} {} {}\n", kva, type, name);
  };
  sym(image_kva(0x0), 'T', "_text");
  sym(image_kva(kPerCpuTemplateOff), 'D', "runqueues");
  if (o.per_cpu_offset) sym(image_kva(kPerCpuOffsetOff), 'D', "__per_cpu_offset");
  if (o.enable_state) sym(image_kva(kEnableStateOff), 'd', "scx_enable_state_var");
  if (o.scx_root) sym(image_kva(kScxRootOff), 'b', "scx_root");
  if (o.jiffies) sym(image_kva(kJiffiesOff), 'D', "jiffies");
  sym(image_kva(kNrCpuIdsOff), 'D', "nr_cpu_ids");
  sym(0xffffffffc0000000ull, 't', "some_module_fn\t[some_module]");
  return s;
}

}  // namespace

Result<std::unique_ptr<SyntheticKernel>> SyntheticKernel::build(SyntheticOptions options) {
  if (options.nr_cpus == 0 || options.nr_cpus > kMaxCpus)
    return invalid_argument(
        fmt::format("synthetic kernel: {} CPUs is not in 1..{}", options.nr_cpus, kMaxCpus));
  std::unique_ptr<SyntheticKernel> s(new SyntheticKernel());
  s->opt_ = std::move(options);
  const SyntheticOptions& o = s->opt_;
  s->btf_ = build_btf(o);
  s->kallsyms_ = build_kallsyms(o);

  auto k = std::make_unique<GuestKernel>();
  k->memory = guestmem::PhysMemory::from_image(
      std::vector<uint8_t>(kAreasPhys + uint64_t{o.nr_cpus} * kAreaSize), 0);
  k->symbols = ksyms::SymbolTable::parse_kallsyms(s->kallsyms_);
  KTSTR_ASSIGN(k->btf, ksyms::KernelBtf::from_bytes(s->btf_), "synthetic BTF");
  k->space = std::make_unique<guestmem::KernelSpace>(
      k->memory,
      guestmem::KernelLayout{.phys_base = kPhysBase, .page_offset_base = kPageOffsetBase});
  s->kernel_ = std::move(k);

  // Guest state: every CPU busy with one task, sched_ext enabled.
  s->write_u32(image_kva(kNrCpuIdsOff), o.nr_cpus);
  const uint64_t runqueues = image_kva(kPerCpuTemplateOff);
  for (uint32_t cpu = 0; cpu < o.nr_cpus; ++cpu) {
    const uint64_t area = direct_kva(kAreasPhys + cpu * kAreaSize);
    if (o.per_cpu_offset) s->write_u64(s->per_cpu_offset_kva(cpu), area - runqueues);
    s->set_nr_running(cpu, 1);
    s->set_clock(cpu, 1'000'000'000);
    s->write_u64(area + kRqCurr, s->task_kva(cpu));
    s->set_curr_pid(cpu, static_cast<int32_t>(100 + cpu));
    s->set_scx_nr_running(cpu, 1);
  }
  // scx_root->pcpu is a per-CPU pointer: + __per_cpu_offset[cpu] lands in
  // the CPU's area, like an alloc_percpu() from the first chunk.
  s->write_u64(s->scx_sched_kva() + kSchedPcpu, runqueues + kPcpuInArea);
  s->set_scx_root(s->scx_sched_kva());
  s->set_enable_state(1);
  s->set_jiffies(4'294'667'296ull);  // INITIAL_JIFFIES-like

  KTSTR_ASSIGN(SchedReader reader,
               SchedReader::create(s->kernel_->symbols, s->kernel_->btf, o.nr_cpus),
               "synthetic kernel");
  s->kernel_->reader = std::make_unique<SchedReader>(std::move(reader));
  return s;
}

uint64_t SyntheticKernel::rq_kva(uint32_t cpu) const {
  return direct_kva(kAreasPhys + cpu * kAreaSize);
}
uint64_t SyntheticKernel::per_cpu_offset_kva(uint32_t cpu) const {
  return image_kva(kPerCpuOffsetOff) + uint64_t{8} * cpu;
}
uint64_t SyntheticKernel::scx_root_kva() const { return image_kva(kScxRootOff); }
uint64_t SyntheticKernel::scx_sched_kva() const { return direct_kva(kScxSchedPhys); }
uint64_t SyntheticKernel::task_kva(uint32_t cpu) const {
  return direct_kva(kTasksPhys + cpu * kTaskSize);
}

void SyntheticKernel::write_u64(uint64_t kva, uint64_t v) {
  uint8_t b[8];
  std::memcpy(b, &v, 8);
  if (!kernel_->space->write(kva, b).ok()) std::abort();
}
void SyntheticKernel::write_u32(uint64_t kva, uint32_t v) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  if (!kernel_->space->write(kva, b).ok()) std::abort();
}

void SyntheticKernel::set_nr_running(uint32_t cpu, uint32_t v) {
  write_u32(rq_kva(cpu) + kRqNrRunning, v);
}
void SyntheticKernel::set_scx_nr_running(uint32_t cpu, uint32_t v) {
  write_u32(rq_kva(cpu) + kRqScx + kScxRqNrRunning, v);
}
void SyntheticKernel::set_local_dsq_depth(uint32_t cpu, uint32_t v) {
  write_u32(rq_kva(cpu) + kRqScx + kDsqNr, v);
}
void SyntheticKernel::set_scx_flags(uint32_t cpu, uint32_t v) {
  write_u32(rq_kva(cpu) + kRqScx + kScxRqFlags, v);
}
void SyntheticKernel::set_clock(uint32_t cpu, uint64_t ns) {
  write_u64(rq_kva(cpu) + kRqClock, ns);
}
void SyntheticKernel::set_curr_pid(uint32_t cpu, int32_t pid) {
  write_u32(task_kva(cpu) + kTaskPid, static_cast<uint32_t>(pid));
}
void SyntheticKernel::set_enable_state(int32_t state) {
  write_u32(image_kva(kEnableStateOff), static_cast<uint32_t>(state));
}
void SyntheticKernel::set_scx_root(uint64_t value) { write_u64(scx_root_kva(), value); }
void SyntheticKernel::set_event(uint32_t cpu, const std::string& name, int64_t value) {
  for (size_t i = 0; i < opt_.event_names.size(); ++i)
    if (opt_.event_names[i] == name)
      write_u64(rq_kva(cpu) + kPcpuInArea + kSchedPcpuStats + 8 * i, static_cast<uint64_t>(value));
}
void SyntheticKernel::set_jiffies(uint64_t v) { write_u64(image_kva(kJiffiesOff), v); }

}  // namespace ktstr::monitor
