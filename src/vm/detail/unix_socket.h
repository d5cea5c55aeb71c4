// Unix stream sockets for QEMU's chardevs: the host listens BEFORE QEMU
// starts and QEMU connects as a client, so there is no polling for socket
// files and no race.
#pragma once

#include <filesystem>
#include <functional>

#include "util/fd.h"
#include "util/result.h"
#include "vm/qmp.h"

namespace ktstr::vm::detail {

// socket + bind + listen; errors name the path (e.g. longer than 107 bytes).
Result<UniqueFd> listen_unix(const std::filesystem::path& path);
// Connects to a listening socket (for tests and fake QEMUs).
Result<UniqueFd> connect_unix(const std::filesystem::path& path);
// Accepts one connection before `deadline`. `abort_check` is called about
// every 50 ms; a non-OK Status from it ends the wait with that error (e.g.
// "QEMU exited"). `what` names the socket in errors.
Result<UniqueFd> accept_before(int listen_fd, Deadline deadline, const char* what,
                               const std::function<Status()>& abort_check);

}  // namespace ktstr::vm::detail
