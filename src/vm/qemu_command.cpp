#include "vm/qemu_command.h"

#include <fmt/format.h>

#include <numeric>

namespace ktstr::vm {

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

// QEMU option values separate keys with ','; a literal ',' is written ",,".
std::string opt_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

Status validate_path_field(const char* field, const std::filesystem::path& p) {
  if (p.empty()) return invalid_argument(fmt::format("{} is empty; it must name a file", field));
  if (p.string().find('\n') != std::string::npos)
    return invalid_argument(fmt::format("{} contains a newline", field));
  return {};
}

uint32_t ceil_log2(uint32_t v) {
  uint32_t bits = 0;
  while ((1u << bits) < v) ++bits;
  return bits;
}

// QEMU gives each socket/core a power-of-two block of APIC ids; without
// x2apic (TCG, and the pc machine here) the highest id must be <= 254.
Status validate_apic_ids(const topo::Topology& t) {
  const uint32_t thread_bits = ceil_log2(t.threads_per_core);
  const uint32_t core_bits = ceil_log2(t.cores_per_llc);
  const uint64_t max_id = (uint64_t{t.llcs - 1} << (core_bits + thread_bits)) |
                          (uint64_t{t.cores_per_llc - 1} << thread_bits) | (t.threads_per_core - 1);
  if (max_id > kMaxApicId)
    return invalid_argument(fmt::format(
        "topology {}: QEMU's APIC ids would reach {} (each LLC takes {} ids), above the {} the "
        "pc machine allows; use power-of-two cores_per_llc and threads_per_core, or fewer llcs",
        t.to_string(), max_id, 1u << (core_bits + thread_bits), kMaxApicId));
  return {};
}

}  // namespace

std::vector<uint64_t> node_memory_mb(const MachineSpec& spec) {
  const auto& t = spec.topology;
  if (!t.node_memory_mb.empty()) return t.node_memory_mb;
  const uint32_t n = std::max<uint32_t>(t.numa_nodes, 1);
  std::vector<uint64_t> out(n, spec.memory_mb / n);
  for (uint64_t i = 0; i < spec.memory_mb % n; ++i) ++out[i];
  return out;
}

uint64_t total_memory_mb(const MachineSpec& spec) {
  auto nodes = node_memory_mb(spec);
  return std::accumulate(nodes.begin(), nodes.end(), uint64_t{0});
}

Status validate(const MachineSpec& spec) {
  KTSTR_TRY(spec.topology.validate(), "topology");
  KTSTR_TRY(validate_apic_ids(spec.topology));
  if (spec.accel == Accel::kAuto)
    return invalid_argument("accel is auto; resolve it with resolve_accel() first");

  const auto& t = spec.topology;
  if (!t.node_memory_mb.empty()) {
    uint64_t sum = std::accumulate(t.node_memory_mb.begin(), t.node_memory_mb.end(), uint64_t{0});
    if (spec.memory_mb != 0 && spec.memory_mb != sum)
      return invalid_argument(fmt::format(
          "memory_mb {} does not match the sum of node_memory_mb ({} MiB); set memory_mb to {} "
          "or 0",
          spec.memory_mb, sum, sum));
  }
  uint64_t total = total_memory_mb(spec);
  if (total < kMinMemoryMb)
    return invalid_argument(
        fmt::format("memory_mb {} is below the {} MiB the guest kernel needs to boot; use e.g. 256",
                    total, kMinMemoryMb));
  auto nodes = node_memory_mb(spec);
  for (size_t i = 0; i < nodes.size(); ++i) {
    // An explicit 0 makes a memoryless node; otherwise each node needs a
    // little RAM or the kernel panics allocating per-node structures.
    bool explicit_zero = !t.node_memory_mb.empty() && nodes[i] == 0;
    if (!explicit_zero && nodes[i] < kMinNodeMemoryMb)
      return invalid_argument(fmt::format(
          "memory_mb {} gives node {} only {} MiB; each node needs >= {} MiB, so use at least "
          "{}",
          total, i, nodes[i], kMinNodeMemoryMb, kMinNodeMemoryMb * nodes.size()));
  }
  if (nodes.empty() || nodes[0] == 0)
    return invalid_argument("node_memory_mb[0] is 0; node 0 must have memory");

  KTSTR_TRY(validate_path_field("kernel", spec.kernel));
  if (!spec.initrd.empty()) KTSTR_TRY(validate_path_field("initrd", spec.initrd));
  KTSTR_TRY(validate_path_field("shm_dir", spec.shm_dir));
  if (spec.shm_prefix.empty() || spec.shm_prefix.find('/') != std::string::npos)
    return invalid_argument(
        fmt::format("shm_prefix '{}' must be a non-empty file name without '/'", spec.shm_prefix));
  KTSTR_TRY(validate_path_field("bulk_socket", spec.bulk_socket));
  KTSTR_TRY(validate_path_field("qmp_socket", spec.qmp_socket));
  if (spec.console == ConsoleMode::kPipe)
    KTSTR_TRY(validate_path_field("console_socket", spec.console_socket));
  if (!spec.gdb_socket.empty()) KTSTR_TRY(validate_path_field("gdb_socket", spec.gdb_socket));
  if (spec.cmdline_extra.find_first_of("\r\n") != std::string::npos)
    return invalid_argument(
        "cmdline_extra contains a newline; the kernel command line is one line");
  return {};
}

std::filesystem::path node_shm_path(const MachineSpec& spec, uint32_t node) {
  return spec.shm_dir / fmt::format("{}-node{}", spec.shm_prefix, node);
}

std::vector<std::filesystem::path> shm_paths(const MachineSpec& spec) {
  std::vector<std::filesystem::path> out;
  auto nodes = node_memory_mb(spec);
  for (uint32_t i = 0; i < nodes.size(); ++i)
    if (nodes[i] > 0) out.push_back(node_shm_path(spec, i));
  return out;
}

std::vector<GuestRamRegion> guest_ram_layout(const MachineSpec& spec) {
  // QEMU 7.2 pc_piix: max_ram_below_4g defaults to 3.5 GiB; when RAM reaches
  // it, gigabyte alignment lowers the split to 3 GiB.
  const uint64_t total = total_memory_mb(spec) * kMiB;
  const uint64_t below_4g = total >= 3 * kGiB + kGiB / 2 ? 3 * kGiB : total;
  std::vector<GuestRamRegion> out;
  auto nodes = node_memory_mb(spec);
  uint64_t ram_offset = 0;  // offset in QEMU's concatenated RAM
  for (uint32_t n = 0; n < nodes.size(); ++n) {
    const uint64_t size = nodes[n] * kMiB;
    if (size == 0) continue;
    auto path = node_shm_path(spec, n);
    uint64_t done = 0;
    while (done < size) {
      uint64_t off = ram_offset + done;
      GuestRamRegion r{n, path, done, 0, 0};
      if (off < below_4g) {
        r.guest_phys = off;
        r.size = std::min(size - done, below_4g - off);
      } else {
        r.guest_phys = 4 * kGiB + (off - below_4g);
        r.size = size - done;
      }
      done += r.size;
      out.push_back(std::move(r));
    }
    ram_offset += size;
  }
  return out;
}

std::string kernel_cmdline(const MachineSpec& spec) {
  std::string cmd = "console=ttyS0 loglevel=4 panic=-1 rdinit=/init";
  if (!spec.kaslr) cmd += " nokaslr";
  if (!spec.cmdline_extra.empty()) cmd += " " + spec.cmdline_extra;
  return cmd;
}

std::vector<std::string> qemu_argv(const MachineSpec& spec) {
  const auto& t = spec.topology;
  std::vector<std::string> a = {"qemu-system-x86_64", "-nodefaults", "-no-user-config",
                                "-nographic", "-no-reboot"};
  auto add = [&a](std::initializer_list<std::string> args) {
    a.insert(a.end(), args.begin(), args.end());
  };
  // vCPU threads named "CPU n/TCG" or "CPU n/KVM", for host-side monitoring.
  add({"-name", "ktstr-" + spec.shm_prefix + ",debug-threads=on"});
  if (spec.accel == Accel::kKvm) {
    add({"-machine", "pc", "-cpu", "host", "-accel", "kvm"});
  } else {
    add({"-machine", "pc", "-cpu", "max", "-accel", "tcg,thread=single"});
  }
  add({"-m", fmt::format("{}M", total_memory_mb(spec))});
  add({"-smp", fmt::format("cpus={},sockets={},cores={},threads={}", t.num_cpus(), t.llcs,
                           t.cores_per_llc, t.threads_per_core)});

  auto nodes = node_memory_mb(spec);
  for (uint32_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n] == 0) {
      add({"-numa", fmt::format("node,nodeid={}", n)});
      continue;
    }
    add({"-object",
         fmt::format("memory-backend-file,id=mem{},size={}M,mem-path={},share=on,"
                     "prealloc=off",
                     n, nodes[n], opt_escape(node_shm_path(spec, n).string())),
         "-numa", fmt::format("node,nodeid={},memdev=mem{}", n, n)});
  }
  const uint32_t lpn = t.llcs_per_node();
  for (uint32_t llc = 0; llc < t.llcs; ++llc)
    add({"-numa", fmt::format("cpu,node-id={},socket-id={}", llc / lpn, llc)});
  for (uint32_t src = 0; src < t.numa_nodes; ++src)
    for (uint32_t dst = 0; dst < t.numa_nodes; ++dst)
      if (src != dst)
        add({"-numa", fmt::format("dist,src={},dst={},val={}", src, dst, t.distance(src, dst))});

  add({"-kernel", spec.kernel.string()});
  if (!spec.initrd.empty()) add({"-initrd", spec.initrd.string()});
  add({"-append", kernel_cmdline(spec)});

  if (spec.console == ConsoleMode::kPipe) {
    add({"-chardev", "socket,id=con,path=" + opt_escape(spec.console_socket.string())});
  } else {
    add({"-chardev", "stdio,id=con,signal=off"});
  }
  add({"-serial", "chardev:con"});
  add({"-device", "virtio-serial-pci,id=vser", "-chardev",
       "socket,id=bulk,path=" + opt_escape(spec.bulk_socket.string()), "-device",
       fmt::format("virtserialport,bus=vser.0,chardev=bulk,name={}", kBulkPortName)});
  add({"-chardev", "socket,id=qmp,path=" + opt_escape(spec.qmp_socket.string()), "-mon",
       "chardev=qmp,mode=control"});
  if (!spec.gdb_socket.empty())
    add({"-chardev",
         "socket,id=gdb0,path=" + opt_escape(spec.gdb_socket.string()) + ",server=on,wait=off",
         "-gdb", "chardev:gdb0"});
  if (spec.start_paused) a.push_back("-S");
  return a;
}

}  // namespace ktstr::vm
