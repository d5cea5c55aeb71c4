// Accelerator choice for the VM: KVM when it can really run a guest, TCG
// otherwise, with the reason recorded so `ktstr` can say why it is slow.
//
// The probe runs a tiny guest in 32-bit protected mode that executes one SSE2
// instruction (paddd), writes the result to an I/O port and halts. Hardware
// KVM (VMX/SVM) runs that natively. A /dev/kvm that merely EMULATES guest
// instructions fails it: found on the development machine (a Firecracker VM
// with a paravirtual, PVM-style /dev/kvm), where a real-mode `out; hlt` guest
// passes, but QEMU+KVM then dies booting Linux ("KVM internal error.
// Suberror: 1 emulation failure" on a VEX instruction in the decompressor;
// `-cpu host`/`max` even abort on MSR 0x10a). There the probe fails with
// KVM_EXIT_INTERNAL_ERROR and auto picks TCG.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace ktstr::vm {

enum class Accel { kAuto, kKvm, kTcg };

// "auto" | "kvm" | "tcg" (case-sensitive).
Result<Accel> parse_accel(std::string_view text);
std::string_view to_string(Accel accel);

// What resolve_accel chose (kKvm or kTcg, never kAuto) and why.
struct AccelChoice {
  Accel accel = Accel::kTcg;
  std::string reason;
};

// Outcome of the KVM probe: ok, or the first step that failed.
struct KvmProbe {
  bool ok = false;
  std::string detail;  // "KVM runs guests natively" or why not
};

// Probes /dev/kvm (in a forked child with a 5 s deadline, so a hanging
// KVM_RUN cannot hang ktstr). `device` is for tests.
KvmProbe probe_kvm(const std::string& device = "/dev/kvm");
// probe_kvm("/dev/kvm"), computed once per process and cached.
const KvmProbe& cached_kvm_probe();

// kAuto -> kKvm if the probe passes, else kTcg with the probe's reason.
// kKvm  -> kKvm if the probe passes, else an kUnavailable error that says
//          why and to use `--accel tcg`.
// kTcg  -> kTcg.
Result<AccelChoice> resolve_accel(Accel requested, const KvmProbe& probe);
// Same, with cached_kvm_probe() (probed only when needed).
Result<AccelChoice> resolve_accel(Accel requested);

}  // namespace ktstr::vm
