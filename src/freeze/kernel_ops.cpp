// Guest-requested kernel memory access: validate, resolve, then touch.
#include "freeze/kernel_ops.h"

#include <bpf/btf.h>
#include <fmt/format.h>

#include <array>
#include <unordered_set>

namespace ktstr::freeze {

namespace {

using wire::KernelOp;
using wire::KernelTarget;

// A resolved target, or why the request is refused.
struct Resolved {
  uint64_t kva = 0;
  uint32_t status = kOk;
  std::string reason;
  bool ok() const { return status == kOk; }
};

Resolved refuse(uint32_t status, std::string reason) { return {0, status, std::move(reason)}; }

uint32_t status_of(const Error& e) {
  switch (e.code()) {
    case Errc::kNotFound: return kNotFound;
    case Errc::kInvalidArgument: return kInvalid;
    default: return kFault;
  }
}

// `path` inside type `type_id` must be a whole (non-bitfield) member of
// exactly `width` bytes; `what` names the object for messages.
Resolved add_field(const ksyms::KernelBtf& btf, uint64_t base, uint32_t type_id,
                   std::string_view path, unsigned width, std::string_view what) {
  uint64_t offset = 0, size = 0;
  if (path.empty()) {
    auto s = btf.type_size(type_id);
    if (!s.ok()) return refuse(kNotFound, fmt::format("{}: {}", what, s.error().message()));
    size = *s;
  } else {
    auto f = btf.field_of(btf.resolve(type_id), path);
    if (!f.ok())
      return refuse(status_of(f.error()), fmt::format("{}: {}", what, f.error().message()));
    if (f->bit_size != 0)
      return refuse(kInvalid, fmt::format("{}.{} is a bitfield; only whole fields can be accessed",
                                          what, path));
    offset = f->offset;
    size = f->size;
  }
  if (size != width)
    return refuse(kInvalid, fmt::format("{}{}{} is {} bytes, the request's width is {}", what,
                                        path.empty() ? "" : ".", path, size, width));
  return {base + offset};
}

Resolved resolve_symbol(const wire::KernelOpRequest& req, const KernelOpContext& ctx) {
  if (req.symbol.empty()) return refuse(kInvalid, "target symbol needs a symbol name");
  auto addr = ctx.symbols.require(req.symbol);
  if (!addr.ok()) return refuse(kNotFound, addr.error().message());
  if (req.field.empty()) return {*addr};
  auto type = var_type(ctx.btf, req.symbol, "");
  if (!type.ok()) return refuse(kNotFound, type.error().message());
  return add_field(ctx.btf, *addr, *type, req.field, req.width, req.symbol);
}

Resolved resolve_percpu(const wire::KernelOpRequest& req, const KernelOpContext& ctx) {
  if (req.symbol.empty()) return refuse(kInvalid, "target percpu needs a per-CPU variable name");
  if (req.cpu >= ctx.reader.nr_cpus())
    return refuse(kOutOfRange,
                  fmt::format("cpu {} out of range (the guest has {} CPUs)", req.cpu,
                              ctx.reader.nr_cpus()));
  auto addr = ctx.symbols.require(req.symbol);
  if (!addr.ok()) return refuse(kNotFound, addr.error().message());
  auto type = var_type(ctx.btf, req.symbol, ".data..percpu");
  if (!type.ok()) return refuse(kNotFound, type.error().message());
  auto base = ctx.reader.per_cpu_address(ctx.space, *addr, req.cpu);
  if (!base.ok())
    return refuse(kFault, fmt::format("per-CPU address of {} on cpu {}: {}", req.symbol, req.cpu,
                                      base.error().message()));
  return add_field(ctx.btf, *base, *type, req.field,
                   req.width, fmt::format("{}[cpu {}]", req.symbol, req.cpu));
}

Resolved resolve_task(const wire::KernelOpRequest& req, const KernelOpContext& ctx) {
  if (req.field.empty()) return refuse(kInvalid, "target task needs a field path");
  auto type = ctx.btf.struct_id("task_struct");
  if (!type.ok()) return refuse(kNotFound, type.error().message());
  // Check the field before walking the task list: cheaper, clearer.
  if (auto probe = add_field(ctx.btf, 0, *type, req.field, req.width, "task_struct");
      !probe.ok())
    return probe;
  auto task = find_task(ctx.space, ctx.symbols, ctx.btf, req.pid);
  if (!task.ok()) return refuse(status_of(task.error()), task.error().message());
  return add_field(ctx.btf, *task, *type, req.field, req.width,
                   fmt::format("task {}", req.pid));
}

Resolved resolve(const wire::KernelOpRequest& req, const KernelOpContext& ctx) {
  switch (req.target) {
    case KernelTarget::kSymbol: return resolve_symbol(req, ctx);
    case KernelTarget::kKva:
      if (!req.field.empty()) return refuse(kInvalid, "target kva takes no field path");
      return {req.address};
    case KernelTarget::kPercpuField: return resolve_percpu(req, ctx);
    case KernelTarget::kTaskField: return resolve_task(req, ctx);
  }
  return refuse(kInvalid, fmt::format("unknown target {}", static_cast<unsigned>(req.target)));
}

// Everything that needs no guest memory.
Resolved check_request(const wire::KernelOpRequest& req, const KernelOpContext& ctx) {
  if (req.tag.size() > ctx.max_tag)
    return refuse(kInvalid, fmt::format("tag is {} bytes, at most {} allowed", req.tag.size(),
                                        ctx.max_tag));
  if (req.op != KernelOp::kRead && req.op != KernelOp::kWrite)
    return refuse(kInvalid, fmt::format("unknown op {}", static_cast<unsigned>(req.op)));
  const unsigned w = req.width;
  if (w != 1 && w != 2 && w != 4 && w != 8)
    return refuse(kInvalid, fmt::format("width {} is not 1, 2, 4 or 8", w));
  if (req.op == KernelOp::kWrite) {
    if (w < 8 && (req.value >> (8 * w)) != 0)
      return refuse(kInvalid, fmt::format("value {:#x} does not fit in {} bytes", req.value, w));
    if (!ctx.frozen) return refuse(kNotFrozen, "writes need the VM frozen");
  }
  return {};
}

// The final address: aligned, kernel half, backed by guest RAM.
Resolved check_address(uint64_t kva, unsigned width, const KernelOpContext& ctx) {
  if (kva % width != 0)
    return refuse(kInvalid, fmt::format("address {:#x} is not aligned to {} bytes", kva, width));
  const unsigned levels = ctx.space.layout().paging_levels;
  if (!guestmem::is_kernel_half(kva, levels))
    return refuse(kInvalid, fmt::format("address {:#x} is not a kernel address ({}-level paging)",
                                        kva, levels));
  auto pa = ctx.space.translate(kva);
  if (!pa.ok()) return refuse(kOutOfRange, fmt::format("address {:#x}: {}", kva, pa.error().message()));
  if (!ctx.space.memory().contains(*pa, width))
    return refuse(kOutOfRange, fmt::format("address {:#x} (guest-physical {:#x}, {} bytes) is "
                                           "outside guest RAM",
                                           kva, *pa, width));
  return {kva};
}

}  // namespace

Result<uint32_t> var_type(const ksyms::KernelBtf& btf, std::string_view name,
                          std::string_view section) {
  const struct btf* raw = btf.raw();
  if (raw == nullptr) return not_found("no BTF loaded");
  const uint32_t n = btf__type_cnt(raw);
  for (uint32_t id = 1; id < n; ++id) {
    const btf_type* t = btf__type_by_id(raw, id);
    if (t == nullptr || !btf_is_datasec(t)) continue;
    const char* sec = btf__name_by_offset(raw, t->name_off);
    if (!section.empty() && (sec == nullptr || section != sec)) continue;
    const btf_var_secinfo* vs = btf_var_secinfos(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i, ++vs) {
      const btf_type* var = btf__type_by_id(raw, vs->type);
      if (var == nullptr || !btf_is_var(var)) continue;
      const char* vname = btf__name_by_offset(raw, var->name_off);
      if (vname != nullptr && name == vname) return var->type;
    }
  }
  return not_found(fmt::format("no BTF variable '{}'{}", name,
                               section.empty() ? std::string()
                                               : fmt::format(" in section {}", section)));
}

Result<uint64_t> find_task(const guestmem::KernelSpace& space, const ksyms::SymbolTable& symbols,
                           const ksyms::KernelBtf& btf, uint32_t pid, size_t max_tasks) {
  KTSTR_ASSIGN(uint64_t init_task, symbols.require("init_task"), "finding a task");
  KTSTR_ASSIGN(auto tasks, btf.field("task_struct", "tasks"), "finding a task");
  KTSTR_ASSIGN(auto pid_field, btf.field("task_struct", "pid"), "finding a task");
  if (pid_field.size != 4) return invalid_argument("task_struct.pid is not 4 bytes");
  const uint64_t head = init_task + tasks.offset;
  uint64_t task = init_task;
  std::unordered_set<uint64_t> seen;
  for (size_t n = 0; n < max_tasks; ++n) {
    // A bad pointer in the list is the guest's fault, not a missing task.
    auto task_pid = space.read_u32(task + pid_field.offset);
    if (!task_pid.ok())
      return Error(Errc::kProtocol, fmt::format("reading the pid of task_struct {:#x}: {}", task,
                                                task_pid.error().message()));
    if (*task_pid == pid) return task;
    auto next_r = space.read_u64(task + tasks.offset);
    if (!next_r.ok())
      return Error(Errc::kProtocol, fmt::format("reading tasks.next of task_struct {:#x}: {}",
                                                task, next_r.error().message()));
    const uint64_t next = *next_r;
    if (next == head) return not_found(fmt::format("no task with pid {} (thread group leaders "
                                                   "on init_task.tasks only)", pid));
    if (!seen.insert(next).second)
      return Error(Errc::kProtocol,
                   fmt::format("task list loops at {:#x} without returning to init_task", next));
    task = next - tasks.offset;
  }
  return Error(Errc::kProtocol, fmt::format("task list longer than {} entries", max_tasks));
}

wire::KernelOpReply execute_kernel_op(const wire::KernelOpRequest& req,
                                      const KernelOpContext& ctx) {
  wire::KernelOpReply reply;
  reply.request_id = req.request_id;
  auto fail = [&reply](const Resolved& r) {
    reply.status = r.status;
    reply.reason = r.reason;
    return reply;
  };
  if (auto r = check_request(req, ctx); !r.ok()) return fail(r);
  Resolved target = resolve(req, ctx);
  if (!target.ok()) return fail(target);
  if (auto r = check_address(target.kva, req.width, ctx); !r.ok()) return fail(r);

  if (req.op == KernelOp::kRead) {
    auto v = ctx.space.read_uint(target.kva, req.width);
    if (!v.ok()) return fail(refuse(kFault, v.error().message()));
    reply.value = *v;
    return reply;
  }
  std::array<uint8_t, 8> bytes{};
  for (unsigned i = 0; i < req.width; ++i) bytes[i] = static_cast<uint8_t>(req.value >> (8 * i));
  if (auto st = ctx.space.write(target.kva, std::span<const uint8_t>(bytes.data(), req.width));
      !st.ok())
    return fail(refuse(kFault, st.error().message()));
  return reply;
}

}  // namespace ktstr::freeze
