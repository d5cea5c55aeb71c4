// Reporter: how the agent tells the host what is happening. Every step is
// printed on the console (the host's serial log) and, once the port is
// attached, also sent as a frame.
#pragma once

#include <chrono>
#include <string_view>

#include "guest/kernel_addrs.h"
#include "guest/sink.h"
#include "util/result.h"
#include "wire/messages.h"

namespace ktstr::guest {

class Reporter {
 public:
  void attach(FrameSink* sink) { sink_ = sink; }
  FrameSink* sink() const { return sink_; }

  // Console line + LIFECYCLE frame. Send failures are only printed: the
  // narration must never be the reason a run stops.
  void step(wire::LifecyclePhase phase, std::string_view detail);
  // Console only (before the port exists, or for the user's eyes).
  void console(std::string_view line);

  Status sys_rdy();
  Status kern_addrs(const KernAddrs& addrs);
  // The run's last frame (EXIT or CRASH): drops pending host input, sends,
  // then waits up to `ack_timeout` for the host's ack (see port.h). Returns
  // whether the ack came.
  Result<bool> send_last(wire::MsgType type, std::span<const uint8_t> payload,
                         std::chrono::milliseconds ack_timeout);

 private:
  Status send(wire::MsgType type, std::span<const uint8_t> payload);
  FrameSink* sink_ = nullptr;
};

}  // namespace ktstr::guest
