// SchedReader: reads the scheduler state of a running guest kernel out of
// its memory, with no help from the guest. Built once per run from the
// kernel's BTF (member offsets) and symbols (runqueues, __per_cpu_offset,
// scx_root, scx_enable_state_var, jiffies). Whatever the kernel lacks
// disables that metric with a note; nothing here crashes on a kernel that
// is older, newer or lying.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "guestmem/kernel_space.h"
#include "ksyms/btf.h"
#include "ksyms/symbols.h"
#include "monitor/sample.h"
#include "util/result.h"

namespace ktstr::monitor {

class SchedReader {
 public:
  // Fails only when nothing at all can be read (no `runqueues` symbol or no
  // `struct rq` in the BTF); missing pieces become notes.
  static Result<SchedReader> create(const ksyms::SymbolTable& syms, const ksyms::KernelBtf& btf,
                                    uint32_t nr_cpus);

  const std::vector<std::string>& notes() const { return notes_; }
  uint32_t nr_cpus() const { return nr_cpus_; }

  // __per_cpu_offset[cpu], read from guest memory (cached after the first
  // successful read; the kernel never changes them).
  Result<uint64_t> per_cpu_offset(const guestmem::KernelSpace& space, uint32_t cpu) const;
  // Address of per-CPU variable `symbol_addr` on `cpu`.
  Result<uint64_t> per_cpu_address(const guestmem::KernelSpace& space, uint64_t symbol_addr,
                                   uint32_t cpu) const;
  // Address of `struct rq` of `cpu`.
  Result<uint64_t> rq_address(const guestmem::KernelSpace& space, uint32_t cpu) const;

  CpuSample read_cpu(const guestmem::KernelSpace& space, uint32_t cpu) const;
  GlobalSample read_global(const guestmem::KernelSpace& space) const;
  // One full sample (all CPUs + global); t_ms/step/host_starved left 0.
  Sample read(const guestmem::KernelSpace& space) const;

  struct Offsets;  // member offsets and symbol addresses (sched_reader.cpp)

 private:
  SchedReader() = default;
  uint32_t nr_cpus_ = 0;
  std::vector<std::string> notes_;
  std::shared_ptr<const Offsets> off_;
  // 0 = not read yet. Atomic: the monitor and the freeze coordinator may
  // read through one reader from two threads.
  mutable std::vector<std::atomic<uint64_t>> pcpu_cache_;
};

}  // namespace ktstr::monitor
