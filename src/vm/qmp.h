// Qmp: a small synchronous QMP (QEMU Machine Protocol) client over a
// connected stream socket. connect() reads the greeting and negotiates
// capabilities; execute() sends one command and waits for its reply.
// Asynchronous events that arrive in between are buffered for events() and
// wait_event(). One mutex serialises all socket I/O, so any thread may call.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/fd.h"
#include "util/result.h"

namespace ktstr::vm {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
inline Deadline deadline_in(std::chrono::milliseconds d) { return Clock::now() + d; }

struct QmpEvent {
  std::string name;     // "SHUTDOWN", "STOP", "RESUME", "GUEST_PANICKED", ...
  nlohmann::json data;  // the event's "data" member, or null
  nlohmann::json timestamp;
};

struct QmpCpu {
  int cpu_index = 0;
  pid_t thread_id = 0;  // host thread running this vCPU
};

class Qmp {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{10000};
  static constexpr size_t kMaxEvents = 1024;

  // Takes ownership of a connected socket; reads the greeting and sends
  // qmp_capabilities before `deadline`.
  static Result<Qmp> connect(UniqueFd fd, Deadline deadline);

  Qmp();
  ~Qmp();
  Qmp(Qmp&&) noexcept;
  Qmp& operator=(Qmp&&) noexcept;

  // Sends {"execute": cmd, "arguments": args (omitted when null), "id": n}
  // and returns the reply's "return" member. A QMP error reply becomes a
  // kFailed error "qmp <cmd>: <class>: <desc>"; no reply by the deadline,
  // kTimeout; a closed socket or malformed reply, kIo / kProtocol.
  Result<nlohmann::json> execute(std::string_view cmd, const nlohmann::json& args = nullptr,
                                 Deadline deadline = deadline_in(kDefaultTimeout));

  Status stop();
  Status cont();
  // QEMU replies and then exits; a socket closed before the reply also
  // counts as success.
  Status quit(Deadline deadline = deadline_in(std::chrono::milliseconds(5000)));
  // "running", "paused", "shutdown", "internal-error", ... (query-status).
  Result<std::string> query_status();
  Result<std::vector<QmpCpu>> query_cpus_fast();

  // Reads whatever is already on the socket (without blocking) and returns
  // and clears the buffered events, oldest first. At most kMaxEvents are
  // kept; older ones are dropped.
  std::vector<QmpEvent> events();
  // Waits for an event named `name` (returning it and dropping it from the
  // buffer); other events stay buffered.
  Result<QmpEvent> wait_event(std::string_view name, Deadline deadline);

  // The greeting's QMP.version object ({"qemu": {"major": 7, ...}, ...}).
  const nlohmann::json& version() const;
  // False once the peer closed the socket.
  bool connected() const;

 private:
  struct Impl;
  explicit Qmp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ktstr::vm
