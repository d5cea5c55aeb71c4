#include "monitor/sched_reader.h"

#include <bpf/btf.h>

#include <array>
#include <cctype>
#include <cstring>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace ktstr::monitor {

namespace {

constexpr uint32_t kMaxCpus = 8192;             // CONFIG_NR_CPUS upper bound
constexpr uint64_t kMaxEventStatsBytes = 4096;  // struct scx_event_stats is ~100 bytes
constexpr size_t kMaxEvents = 256;
constexpr std::string_view kEventPrefix = "SCX_EV_";

// A scalar member: where it is and how many bytes to read.
struct Scalar {
  uint64_t offset = 0;
  unsigned width = 0;  // 1, 2, 4 or 8
};

}  // namespace

struct SchedReader::Offsets {
  uint64_t runqueues = 0;
  std::optional<uint64_t> per_cpu_offsets;  // &__per_cpu_offset[0]
  // struct rq
  std::optional<Scalar> nr_running, clock, curr, scx_nr_running, scx_flags, local_dsq_nr;
  std::optional<Scalar> task_pid;  // task_struct.pid
  // Globals.
  std::optional<uint64_t> enable_state_var;
  std::vector<std::pair<int64_t, std::string>> enable_states;  // value -> "enabled"
  std::optional<uint64_t> scx_root;
  std::optional<uint64_t> jiffies;
  // Event counters: either scx_root->pcpu (7.x: struct scx_sched_pcpu,
  // member event_stats) or the per-CPU variable event_stats_cpu (6.15).
  std::optional<uint64_t> sched_pcpu_member;  // offset of scx_sched.pcpu
  std::optional<uint64_t> event_stats_var;    // symbol event_stats_cpu
  uint64_t event_stats_offset = 0;            // within scx_sched_pcpu
  uint64_t event_stats_size = 0;
  std::vector<std::pair<std::string, uint64_t>> events;  // short name, offset in the struct
};

namespace {

using Offsets = SchedReader::Offsets;

// A member as a readable scalar, or a note why not.
std::optional<Scalar> scalar(const ksyms::KernelBtf& btf, std::string_view outer,
                             std::string_view path, std::string_view metric,
                             std::vector<std::string>& notes) {
  auto f = btf.field(outer, path);
  if (!f.ok()) {
    notes.push_back(fmt::format("{} not sampled: {}", metric, f.error().message()));
    return std::nullopt;
  }
  const bool width_ok = f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8;
  if (f->bit_size != 0 || !width_ok) {
    notes.push_back(fmt::format("{} not sampled: {}.{} is {} bytes{}, not a plain integer", metric,
                                outer, path, f->size, f->bit_size ? " (a bitfield)" : ""));
    return std::nullopt;
  }
  return Scalar{f->offset, static_cast<unsigned>(f->size)};
}

// "SCX_ENABLED" -> "enabled".
std::string state_name(std::string_view enumerator) {
  std::string s(enumerator.substr(4));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The s64 members of struct scx_event_stats, by their short names.
void find_event_members(const ksyms::KernelBtf& btf, Offsets& off,
                        std::vector<std::string>& notes) {
  auto id = btf.struct_id("scx_event_stats");
  if (!id.ok()) {
    notes.push_back("sched_ext events not sampled: " + id.error().message());
    return;
  }
  auto size = btf.struct_size("scx_event_stats");
  if (!size.ok() || *size == 0 || *size > kMaxEventStatsBytes) {
    notes.push_back("sched_ext events not sampled: struct scx_event_stats has an unusable size");
    return;
  }
  const struct btf* raw = btf.raw();
  const btf_type* t = raw ? btf__type_by_id(raw, *id) : nullptr;
  if (!t || !btf_is_struct(t)) {
    notes.push_back("sched_ext events not sampled: scx_event_stats is not a struct");
    return;
  }
  const btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t) && off.events.size() < kMaxEvents; ++i, ++m) {
    const char* name = btf__name_by_offset(raw, m->name_off);
    auto msize = btf.type_size(m->type);
    const uint32_t bits = btf_member_bit_offset(t, i);
    if (!name || !msize.ok() || *msize != 8 || bits % 8 != 0 ||
        btf_member_bitfield_size(t, i) != 0 || bits / 8 + 8 > *size)
      continue;
    std::string_view n(name);
    if (n.starts_with(kEventPrefix)) n.remove_prefix(kEventPrefix.size());
    if (n.empty()) continue;
    off.events.emplace_back(std::string(n), bits / 8);
  }
  if (off.events.empty()) {
    notes.push_back("sched_ext events not sampled: struct scx_event_stats has no 8-byte counters");
    return;
  }
  off.event_stats_size = *size;
}

void find_event_source(const ksyms::SymbolTable& syms, const ksyms::KernelBtf& btf, Offsets& off,
                       std::vector<std::string>& notes) {
  std::vector<std::string> why;
  auto pcpu = btf.field("scx_sched", "pcpu");
  auto stats = btf.field("scx_sched_pcpu", "event_stats");
  if (off.scx_root && pcpu.ok() && stats.ok() && pcpu->size == 8) {
    off.sched_pcpu_member = pcpu->offset;
    off.event_stats_offset = stats->offset;
  } else if (auto var = syms.find("event_stats_cpu")) {
    off.event_stats_var = *var;  // 6.15: DEFINE_PER_CPU(struct scx_event_stats, ...)
  } else {
    notes.push_back(fmt::format(
        "sched_ext events not sampled: no scx_root->pcpu->event_stats ({}) and no per-CPU "
        "event_stats_cpu symbol",
        !off.scx_root ? "no scx_root symbol"
        : !pcpu.ok()  ? pcpu.error().message()
        : !stats.ok() ? stats.error().message()
                      : "scx_sched.pcpu is not a pointer"));
    return;
  }
  find_event_members(btf, off, notes);
  if (off.events.empty()) off.sched_pcpu_member.reset(), off.event_stats_var.reset();
}

void append_error(std::string& to, const Error& e) {
  if (to.size() > 512) return;  // the first few say enough
  to += (to.empty() ? "" : "; ") + e.message();
}

}  // namespace

Result<SchedReader> SchedReader::create(const ksyms::SymbolTable& syms, const ksyms::KernelBtf& btf,
                                        uint32_t nr_cpus) {
  if (nr_cpus == 0 || nr_cpus > kMaxCpus)
    return invalid_argument(fmt::format("monitor: {} CPUs is not in 1..{}", nr_cpus, kMaxCpus));
  KTSTR_ASSIGN(uint64_t runqueues, syms.require("runqueues"), "monitor: per-CPU run queues");
  KTSTR_TRY(btf.struct_id("rq"), "monitor: per-CPU run queues");

  SchedReader r;
  r.nr_cpus_ = nr_cpus;
  auto off = std::make_shared<Offsets>();
  off->runqueues = runqueues;
  auto& notes = r.notes_;

  off->per_cpu_offsets = syms.find("__per_cpu_offset");
  if (!off->per_cpu_offsets)
    notes.push_back(nr_cpus == 1 ? "no __per_cpu_offset symbol: reading CPU 0 at offset 0"
                                 : "no __per_cpu_offset symbol: only CPU 0 can be read");

  off->nr_running = scalar(btf, "rq", "nr_running", "nr_running", notes);
  off->clock = scalar(btf, "rq", "clock", "rq clock", notes);
  off->curr = scalar(btf, "rq", "curr", "current task", notes);
  if (off->curr && off->curr->width != 8) off->curr.reset();
  if (off->curr) off->task_pid = scalar(btf, "task_struct", "pid", "current task", notes);
  off->scx_nr_running = scalar(btf, "rq", "scx.nr_running", "scx nr_running", notes);
  off->scx_flags = scalar(btf, "rq", "scx.flags", "scx flags", notes);
  off->local_dsq_nr = scalar(btf, "rq", "scx.local_dsq.nr", "local DSQ depth", notes);

  off->enable_state_var = syms.find("scx_enable_state_var");
  if (!off->enable_state_var) {
    notes.push_back("sched_ext state not sampled: no scx_enable_state_var symbol");
  } else {
    for (const char* e : {"SCX_ENABLING", "SCX_ENABLED", "SCX_DISABLING", "SCX_DISABLED"})
      if (auto v = btf.enum_value(e)) off->enable_states.emplace_back(*v, state_name(e));
    if (off->enable_states.empty()) {
      notes.push_back("sched_ext state not sampled: enum scx_enable_state not in BTF");
      off->enable_state_var.reset();
    }
  }
  off->scx_root = syms.find("scx_root");
  if (!off->scx_root) notes.push_back("sched_ext root not sampled: no scx_root symbol");
  find_event_source(syms, btf, *off, notes);

  off->jiffies = syms.find("jiffies");
  if (!off->jiffies) off->jiffies = syms.find("jiffies_64");
  if (!off->jiffies) notes.push_back("jiffies not sampled: no jiffies or jiffies_64 symbol");

  r.off_ = std::move(off);
  r.pcpu_cache_ = std::vector<std::atomic<uint64_t>>(nr_cpus);
  return r;
}

Result<uint64_t> SchedReader::per_cpu_offset(const guestmem::KernelSpace& space,
                                             uint32_t cpu) const {
  if (cpu >= nr_cpus_)
    return invalid_argument(fmt::format("cpu {} is not below the {} CPUs read", cpu, nr_cpus_));
  if (!off_->per_cpu_offsets) {
    if (cpu == 0) return uint64_t{0};
    return not_found(fmt::format("cpu {}: the kernel has no __per_cpu_offset symbol", cpu));
  }
  if (uint64_t cached = pcpu_cache_[cpu].load(std::memory_order_relaxed)) return cached;
  const uint64_t at = *off_->per_cpu_offsets + uint64_t{8} * cpu;
  KTSTR_ASSIGN(uint64_t v, space.read_u64(at), fmt::format("__per_cpu_offset[{}]", cpu));
  pcpu_cache_[cpu].store(v, std::memory_order_relaxed);
  return v;
}

Result<uint64_t> SchedReader::per_cpu_address(const guestmem::KernelSpace& space,
                                              uint64_t symbol_addr, uint32_t cpu) const {
  KTSTR_ASSIGN(uint64_t offset, per_cpu_offset(space, cpu));
  return symbol_addr + offset;  // wraps like the kernel's unsigned arithmetic
}

Result<uint64_t> SchedReader::rq_address(const guestmem::KernelSpace& space, uint32_t cpu) const {
  return per_cpu_address(space, off_->runqueues, cpu);
}

CpuSample SchedReader::read_cpu(const guestmem::KernelSpace& space, uint32_t cpu) const {
  CpuSample s;
  s.cpu = cpu;
  auto rq = rq_address(space, cpu);
  if (!rq.ok()) {
    s.error = fmt::format("cpu {}: {}", cpu, rq.error().message());
    return s;
  }
  auto get = [&](const std::optional<Scalar>& f, uint64_t base,
                 const char* what) -> std::optional<uint64_t> {
    if (!f) return std::nullopt;
    auto v = space.read_uint(base + f->offset, f->width);
    if (v.ok()) return *v;
    append_error(s.error, std::move(v).error().context(fmt::format("cpu {} {}", cpu, what)));
    return std::nullopt;
  };
  auto u32 = [](std::optional<uint64_t> v) -> std::optional<uint32_t> {
    if (!v) return std::nullopt;
    return static_cast<uint32_t>(*v);
  };
  const Offsets& o = *off_;
  s.nr_running = u32(get(o.nr_running, *rq, "rq.nr_running"));
  s.rq_clock = get(o.clock, *rq, "rq.clock");
  s.scx_nr_running = u32(get(o.scx_nr_running, *rq, "rq.scx.nr_running"));
  s.scx_flags = u32(get(o.scx_flags, *rq, "rq.scx.flags"));
  s.local_dsq_depth = u32(get(o.local_dsq_nr, *rq, "rq.scx.local_dsq.nr"));
  if (auto curr = get(o.curr, *rq, "rq.curr")) {
    if (*curr == 0)
      append_error(s.error, invalid_argument(fmt::format("cpu {} rq.curr is NULL", cpu)));
    else if (auto pid = get(o.task_pid, *curr, "rq.curr->pid"))
      s.curr_pid = static_cast<uint32_t>(*pid);  // pid_t; idle is 0
  }
  return s;
}

GlobalSample SchedReader::read_global(const guestmem::KernelSpace& space) const {
  GlobalSample g;
  const Offsets& o = *off_;
  auto fail = [&g](Error e, const char* what) {
    append_error(g.error, std::move(e).context(what));
  };

  if (o.enable_state_var) {
    auto v = space.read_u32(*o.enable_state_var);
    if (v.ok()) {
      const int64_t state = static_cast<int32_t>(*v);  // atomic_t holds an int
      g.scx_state = fmt::format("unknown ({})", state);
      for (const auto& [value, name] : o.enable_states)
        if (value == state) g.scx_state = name;
    } else {
      fail(std::move(v).error(), "scx_enable_state_var");
    }
  }
  uint64_t root = 0;
  if (o.scx_root) {
    auto v = space.read_u64(*o.scx_root);
    if (v.ok()) {
      root = *v;
      g.scx_root = root != 0;
    } else {
      fail(std::move(v).error(), "scx_root");
    }
  }

  // Event counters summed over CPUs; any failed read leaves them all out
  // (a partial sum would look like a counter that went backwards).
  std::optional<uint64_t> stats_base;  // per-CPU "address" before the CPU's offset
  if (o.sched_pcpu_member && root != 0) {
    auto pcpu = space.read_u64(root + *o.sched_pcpu_member);
    if (pcpu.ok())
      stats_base = *pcpu + o.event_stats_offset;
    else
      fail(std::move(pcpu).error(), "scx_root->pcpu");
  } else if (o.event_stats_var) {
    stats_base = *o.event_stats_var;
  }
  if (stats_base) {
    std::vector<uint64_t> sums(o.events.size(), 0);
    std::array<uint8_t, kMaxEventStatsBytes> buf{};
    bool ok = true;
    for (uint32_t cpu = 0; cpu < nr_cpus_ && ok; ++cpu) {
      auto at = per_cpu_address(space, *stats_base, cpu);
      Status st = at.ok() ? space.read(*at, std::span(buf.data(), o.event_stats_size))
                          : Status(std::move(at).error());
      if (!st.ok()) {
        fail(std::move(st).error(), "sched_ext event counters");
        ok = false;
        break;
      }
      for (size_t i = 0; i < o.events.size(); ++i) {
        uint64_t v;
        std::memcpy(&v, buf.data() + o.events[i].second, sizeof v);
        sums[i] += v;  // unsigned: wraps instead of overflowing on garbage
      }
    }
    if (ok)
      for (size_t i = 0; i < o.events.size(); ++i)
        g.events[o.events[i].first] = static_cast<int64_t>(sums[i]);
  }

  if (o.jiffies) {
    auto v = space.read_u64(*o.jiffies);
    if (v.ok())
      g.jiffies = *v;
    else
      fail(std::move(v).error(), "jiffies");
  }
  return g;
}

Sample SchedReader::read(const guestmem::KernelSpace& space) const {
  Sample s;
  s.cpus.reserve(nr_cpus_);
  for (uint32_t cpu = 0; cpu < nr_cpus_; ++cpu) s.cpus.push_back(read_cpu(space, cpu));
  s.global = read_global(space);
  return s;
}

}  // namespace ktstr::monitor
