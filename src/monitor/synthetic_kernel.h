// SyntheticKernel: a made-up guest kernel the monitor can read, for unit
// tests and benchmarks: BTF built with libbpf (struct rq, scx_rq,
// scx_dispatch_q, task_struct, scx_sched, scx_sched_pcpu, scx_event_stats,
// enum scx_enable_state — only the members the monitor reads, at offsets
// chosen here), a kallsyms text, and a RAM image with a real direct-map and
// kernel-image layout: __per_cpu_offset[], one run queue per CPU, current
// tasks, scx_root and its per-CPU event counters. Pieces can be left out to
// mimic older kernels; setters poke values (or garbage) into the image.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "monitor/guest_kernel.h"
#include "util/result.h"

namespace ktstr::monitor {

struct SyntheticOptions {
  uint32_t nr_cpus = 4;        // 1..1024
  bool rq_scx = true;          // struct rq has .scx (nr_running, flags, local_dsq.nr)
  bool rq_curr = true;         // struct rq has .curr
  bool per_cpu_offset = true;  // __per_cpu_offset symbol
  bool enable_state = true;    // scx_enable_state_var + enum scx_enable_state
  bool scx_root = true;        // scx_root symbol (scheduler loaded)
  bool events = true;          // scx_sched.pcpu -> scx_sched_pcpu.event_stats
  bool jiffies = true;
  // Counters of struct scx_event_stats, without the SCX_EV_ prefix.
  std::vector<std::string> event_names = {"SELECT_CPU_FALLBACK", "DISPATCH_LOCAL_DSQ_OFFLINE",
                                          "DISPATCH_KEEP_LAST", "ENQ_SKIP_EXITING"};
};

class SyntheticKernel {
 public:
  static constexpr uint64_t kPageOffsetBase = 0xffff888000000000ull;
  static constexpr uint64_t kPhysBase = 0x200000;

  static Result<std::unique_ptr<SyntheticKernel>> build(SyntheticOptions options = {});

  GuestKernel& kernel() { return *kernel_; }
  const guestmem::KernelSpace& space() const { return *kernel_->space; }
  const SchedReader& reader() const { return *kernel_->reader; }
  const SyntheticOptions& options() const { return opt_; }
  // The raw pieces, to build a differently configured reader or file.
  const std::vector<uint8_t>& btf_bytes() const { return btf_; }
  const std::string& kallsyms() const { return kallsyms_; }

  // Kernel virtual addresses of things in the image.
  uint64_t rq_kva(uint32_t cpu) const;
  uint64_t per_cpu_offset_kva(uint32_t cpu) const;  // &__per_cpu_offset[cpu]
  uint64_t scx_root_kva() const;                    // &scx_root (the pointer)
  uint64_t scx_sched_kva() const;                   // *scx_root
  uint64_t task_kva(uint32_t cpu) const;            // rq.curr of `cpu`

  // Writers (abort the test on an image error: these addresses are ours).
  void set_nr_running(uint32_t cpu, uint32_t v);
  void set_scx_nr_running(uint32_t cpu, uint32_t v);
  void set_local_dsq_depth(uint32_t cpu, uint32_t v);
  void set_scx_flags(uint32_t cpu, uint32_t v);
  void set_clock(uint32_t cpu, uint64_t ns);
  void set_curr_pid(uint32_t cpu, int32_t pid);
  void set_enable_state(int32_t state);  // SCX_ENABLING = 0 ... SCX_DISABLED = 3
  void set_scx_root(uint64_t value);     // 0 = no scheduler, scx_sched_kva() = loaded
  void set_event(uint32_t cpu, const std::string& name, int64_t value);
  void set_jiffies(uint64_t v);
  void write_u64(uint64_t kva, uint64_t v);
  void write_u32(uint64_t kva, uint32_t v);

 private:
  SyntheticKernel() = default;
  SyntheticOptions opt_;
  std::vector<uint8_t> btf_;
  std::string kallsyms_;
  std::unique_ptr<GuestKernel> kernel_;
};

}  // namespace ktstr::monitor
