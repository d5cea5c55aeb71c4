#include "vm/accel.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "util/fd.h"

namespace ktstr::vm {

namespace {

// Steps of the probe; the child reports the one that failed.
enum Step : int {
  kOpen = 1,
  kApiVersion,
  kCreateVm,
  kGuestMemory,
  kSetMemory,
  kCreateVcpu,
  kMmapRun,
  kSetSregs,
  kSetRegs,
  kRunIo,
  kRunHlt,
  kDone,
};

struct ProbeReport {
  int step = 0;   // kDone on success, else the step that failed
  int err = 0;    // errno of the failed syscall, 0 if none
  int value = 0;  // api version, or the byte written to the port
  uint32_t exit_reason = 0;
  uint32_t suberror = 0;
};

constexpr uint16_t kPort = 0x10;
constexpr uint8_t kExpected = 0x42;

// 32-bit flat protected mode:
//   mov eax, 0x21; movd xmm0, eax; paddd xmm0, xmm0; movd eax, xmm0;
//   out 0x10, al; hlt
constexpr uint8_t kGuestCode[] = {0xb8, 0x21, 0x00, 0x00, 0x00, 0x66, 0x0f, 0x6e, 0xc0,  0x66,
                                  0x0f, 0xfe, 0xc0, 0x66, 0x0f, 0x7e, 0xc0, 0xe6, kPort, 0xf4};

// Runs in the forked child: async-signal-safe calls only.
ProbeReport run_probe(const char* device) {
  ProbeReport r;
  auto fail = [&r](int step) {
    r.step = step;
    r.err = errno;
    return r;
  };
  int kvm = ::open(device, O_RDWR | O_CLOEXEC);
  if (kvm < 0) return fail(kOpen);
  int api = ::ioctl(kvm, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) {
    r.value = api;
    return fail(kApiVersion);
  }
  int vm = ::ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) return fail(kCreateVm);
  // Needed by Intel CPUs without unrestricted guest; harmless elsewhere.
  (void)::ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
  void* mem = ::mmap(nullptr, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return fail(kGuestMemory);
  std::memcpy(mem, kGuestCode, sizeof kGuestCode);
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = 0x1000;
  region.userspace_addr = reinterpret_cast<uint64_t>(mem);
  if (::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) return fail(kSetMemory);
  int vcpu = ::ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) return fail(kCreateVcpu);
  int run_size = ::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size <= 0) return fail(kMmapRun);
  void* run_map =
      ::mmap(nullptr, static_cast<size_t>(run_size), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run_map == MAP_FAILED) return fail(kMmapRun);
  auto* run = static_cast<kvm_run*>(run_map);

  kvm_sregs sregs{};
  if (::ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) return fail(kSetSregs);
  kvm_segment seg{};
  seg.base = 0;
  seg.limit = 0xffffffff;
  seg.present = 1;
  seg.db = 1;
  seg.s = 1;
  seg.g = 1;
  seg.type = 3;  // data, read/write, accessed
  seg.selector = 0x10;
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
  seg.type = 11;  // code, execute/read, accessed
  seg.selector = 0x08;
  sregs.cs = seg;
  sregs.cr0 = 0x1 | 0x2 | 0x10;  // PE, MP, ET; no EM/TS so SSE runs
  sregs.cr4 = 0x200 | 0x400;     // OSFXSR, OSXMMEXCPT
  if (::ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) return fail(kSetSregs);
  kvm_regs regs{};
  regs.rip = 0;
  regs.rsp = 0xff0;
  regs.rflags = 0x2;
  if (::ioctl(vcpu, KVM_SET_REGS, &regs) < 0) return fail(kSetRegs);

  errno = 0;
  if (::ioctl(vcpu, KVM_RUN, 0) < 0) return fail(kRunIo);
  r.exit_reason = run->exit_reason;
  if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) r.suberror = run->internal.suberror;
  if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
      run->io.port != kPort || run->io.size != 1)
    return fail(kRunIo);
  r.value = static_cast<uint8_t*>(run_map)[run->io.data_offset];
  if (r.value != kExpected) return fail(kRunIo);
  if (::ioctl(vcpu, KVM_RUN, 0) < 0) return fail(kRunHlt);
  r.exit_reason = run->exit_reason;
  if (run->exit_reason != KVM_EXIT_HLT) return fail(kRunHlt);
  r.step = kDone;
  return r;
}

std::string exit_name(uint32_t reason, uint32_t suberror) {
  switch (reason) {
    case KVM_EXIT_IO:
      return "KVM_EXIT_IO";
    case KVM_EXIT_HLT:
      return "KVM_EXIT_HLT";
    case KVM_EXIT_SHUTDOWN:
      return "KVM_EXIT_SHUTDOWN (triple fault)";
    case KVM_EXIT_FAIL_ENTRY:
      return "KVM_EXIT_FAIL_ENTRY";
    case KVM_EXIT_INTERNAL_ERROR:
      return fmt::format("KVM_EXIT_INTERNAL_ERROR (suberror {}{})", suberror,
                         suberror == KVM_INTERNAL_ERROR_EMULATION ? ": emulation failure" : "");
    default:
      return fmt::format("exit reason {}", reason);
  }
}

std::string describe(const ProbeReport& r, const std::string& device) {
  std::string err = r.err ? std::string(": ") + std::strerror(r.err) : "";
  switch (r.step) {
    case kDone:
      return device + " runs guest code natively";
    case kOpen:
      return "cannot open " + device + err;
    case kApiVersion:
      return fmt::format("{} reports KVM API version {}, expected {}", device, r.value,
                         KVM_API_VERSION);
    case kCreateVm:
      return "KVM_CREATE_VM failed" + err;
    case kGuestMemory:
      return "cannot allocate probe guest memory" + err;
    case kSetMemory:
      return "KVM_SET_USER_MEMORY_REGION failed" + err;
    case kCreateVcpu:
      return "KVM_CREATE_VCPU failed" + err;
    case kMmapRun:
      return "cannot map the vCPU run area" + err;
    case kSetSregs:
      return "KVM_GET/SET_SREGS failed" + err;
    case kSetRegs:
      return "KVM_SET_REGS failed" + err;
    case kRunIo:
      if (r.err && r.exit_reason == 0) return "KVM_RUN failed" + err;
      if (r.exit_reason == KVM_EXIT_INTERNAL_ERROR)
        return "the probe guest's SSE2 instruction ended in " +
               exit_name(r.exit_reason, r.suberror) + ": " + device +
               " emulates guest instructions instead of running them (nested or "
               "paravirtual KVM) and cannot boot a Linux kernel";
      if (r.exit_reason == KVM_EXIT_IO)
        return fmt::format("the probe guest wrote {:#x}, expected {:#x}", r.value, kExpected);
      return "the probe guest ended in " + exit_name(r.exit_reason, r.suberror) +
             " instead of writing to its I/O port";
    case kRunHlt:
      if (r.err && r.exit_reason == 0) return "second KVM_RUN failed" + err;
      return "the probe guest ended in " + exit_name(r.exit_reason, r.suberror) +
             " instead of halting";
    default:
      return "the KVM probe process died unexpectedly";
  }
}

}  // namespace

Result<Accel> parse_accel(std::string_view text) {
  if (text == "auto") return Accel::kAuto;
  if (text == "kvm") return Accel::kKvm;
  if (text == "tcg") return Accel::kTcg;
  return invalid_argument(fmt::format("accel '{}' is not one of auto, kvm, tcg", text));
}

std::string_view to_string(Accel accel) {
  switch (accel) {
    case Accel::kAuto:
      return "auto";
    case Accel::kKvm:
      return "kvm";
    case Accel::kTcg:
      return "tcg";
  }
  return "?";
}

KvmProbe probe_kvm(const std::string& device) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return {false, std::string("cannot create a pipe for the KVM probe: ") + std::strerror(errno)};
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return {false, std::string("cannot fork the KVM probe: ") + std::strerror(errno)};
  if (pid == 0) {
    ProbeReport r = run_probe(device.c_str());
    (void)!::write(wr.get(), &r, sizeof r);
    ::_exit(0);
  }
  wr.reset();
  ProbeReport report;
  report.step = 0;
  pollfd pfd{rd.get(), POLLIN, 0};
  int pr;
  do {
    pr = ::poll(&pfd, 1, 5000);
  } while (pr < 0 && errno == EINTR);
  bool timed_out = pr == 0;
  if (pr > 0) {
    ssize_t n;
    do {
      n = ::read(rd.get(), &report, sizeof report);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof report)) report.step = 0;
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int ws;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return {false, "the KVM probe guest did not finish within 5 s"};
  return {report.step == kDone, describe(report, device)};
}

const KvmProbe& cached_kvm_probe() {
  static std::once_flag once;
  static KvmProbe probe;
  std::call_once(once, [] { probe = probe_kvm("/dev/kvm"); });
  return probe;
}

Result<AccelChoice> resolve_accel(Accel requested, const KvmProbe& probe) {
  switch (requested) {
    case Accel::kTcg:
      return AccelChoice{Accel::kTcg, "TCG requested"};
    case Accel::kKvm:
      if (probe.ok) return AccelChoice{Accel::kKvm, "KVM requested; " + probe.detail};
      return unavailable("accel kvm: " + probe.detail +
                         "; use --accel tcg (slower, but works everywhere)");
    case Accel::kAuto:
      if (probe.ok) return AccelChoice{Accel::kKvm, probe.detail};
      return AccelChoice{Accel::kTcg, "using TCG because KVM is not usable: " + probe.detail};
  }
  return invalid_argument("accel: unknown value");
}

Result<AccelChoice> resolve_accel(Accel requested) {
  if (requested == Accel::kTcg) return resolve_accel(requested, KvmProbe{});
  return resolve_accel(requested, cached_kvm_probe());
}

}  // namespace ktstr::vm
