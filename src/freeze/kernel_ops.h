// Kernel memory reads and writes asked for by the guest (KERNEL_OP_REQUEST):
// a test inside the VM pokes a scheduler variable, a per-CPU runqueue field
// or a task's field, and the host does it through its own view of guest RAM
// (so the guest kernel need not cooperate, and the write lands while every
// vCPU is stopped).
// The request comes from the guest and is hostile: everything is validated
// before any memory is touched, and a refused request writes nothing:
//   - tag <= max_tag bytes; op read/write; width 1, 2, 4 or 8; a written
//     value fits in width; writes only while the VM is frozen;
//   - the address is aligned to width, in the kernel half of the address
//     space, translates, and [pa, pa + width) lies in guest RAM;
//   - kSymbol: the symbol resolves (a field path needs a BTF VAR of that
//     name, e.g. a per-CPU variable);
//     kKva: the address as given (no field path);
//     kPercpuField: the symbol is a per-CPU variable with a BTF VAR in
//     ".data..percpu", cpu < nr_cpus, the field path (may be empty: the
//     whole variable) exists in its type;
//     kTaskField: task `pid` is found on the init_task.tasks list (thread
//     group leaders only; bounded walk with loop detection), the field path
//     exists in struct task_struct;
//   - a field's size must equal width (the error names the field's size);
//     bitfields are refused.
// Reads reply with the value (little-endian, zero-extended from width).
#pragma once

#include <cstddef>
#include <cstdint>

#include "guestmem/kernel_space.h"
#include "ksyms/btf.h"
#include "ksyms/symbols.h"
#include "monitor/sched_reader.h"
#include "util/result.h"
#include "wire/messages.h"

namespace ktstr::freeze {

// KernelOpReply.status values.
enum KernelOpStatus : uint32_t {
  kOk = 0,
  kInvalid = 1,     // malformed request (width, alignment, tag, value, user-half address)
  kNotFound = 2,    // symbol, BTF variable, field or task missing
  kOutOfRange = 3,  // cpu >= nr_cpus, address not translatable or outside guest RAM
  kNotFrozen = 4,   // a write while the VM runs
  kFault = 5,       // the memory access itself failed
};

inline constexpr size_t kMaxTaskWalk = 100000;

struct KernelOpContext {
  const guestmem::KernelSpace& space;
  const ksyms::SymbolTable& symbols;
  const ksyms::KernelBtf& btf;  // vmlinux
  const monitor::SchedReader& reader;
  bool frozen = false;
  size_t max_tag = 256;
};

wire::KernelOpReply execute_kernel_op(const wire::KernelOpRequest& req, const KernelOpContext& ctx);

// Address of task `pid`'s struct task_struct, by walking init_task.tasks
// (bounded by `max_tasks`; a loop or a bad pointer is an error).
Result<uint64_t> find_task(const guestmem::KernelSpace& space, const ksyms::SymbolTable& symbols,
                           const ksyms::KernelBtf& btf, uint32_t pid,
                           size_t max_tasks = kMaxTaskWalk);

// Type id of the BTF VAR `name` in DATASEC `section` ("" = any DATASEC).
Result<uint32_t> var_type(const ksyms::KernelBtf& btf, std::string_view name,
                          std::string_view section);

}  // namespace ktstr::freeze
