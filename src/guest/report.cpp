#include "guest/report.h"

#include <unistd.h>

#include <string>

#include "guest/port.h"
#include "util/files.h"
#include "wire/utf8.h"

namespace ktstr::guest {

namespace {
constexpr size_t kDetailMax = 4096;
}

void Reporter::console(std::string_view line) {
  std::string s = "ktstr-guest: " + std::string(line) + "\n";
  (void)write_all(STDERR_FILENO, s);  // the console may be gone; nothing to do then
}

void Reporter::step(wire::LifecyclePhase phase, std::string_view detail) {
  console(std::string(wire::phase_name(phase)) + ": " + std::string(detail));
  if (!sink_) return;
  wire::Lifecycle msg{phase, wire::sanitize_utf8(detail, kDetailMax)};
  if (auto st = send(wire::MsgType::kLifecycle, wire::encode(msg)); !st.ok())
    console("cannot send LIFECYCLE: " + st.error().message());
}

Status Reporter::sys_rdy() { return send(wire::MsgType::kSysRdy, {}); }

Status Reporter::kern_addrs(const KernAddrs& a) {
  wire::KernAddrs msg;
  msg.phys_base = a.phys_base;
  msg.page_offset_base = a.page_offset_base.value_or(0);
  msg.kernel_text = a.kernel_text;
  return send(wire::MsgType::kKernAddrs, wire::encode(msg));
}

Result<bool> Reporter::send_last(wire::MsgType type, std::span<const uint8_t> payload,
                                 std::chrono::milliseconds ack_timeout) {
  if (!sink_) return unavailable("the wire port is not open");
  discard_host_input(sink_->fd());
  KTSTR_TRY(sink_->send(type, payload));
  return wait_host_ack(sink_->fd(), ack_timeout);
}

Status Reporter::send(wire::MsgType type, std::span<const uint8_t> payload) {
  if (!sink_) return unavailable("the wire port is not open");
  return sink_->send(type, payload);
}

}  // namespace ktstr::guest
