// Finding and opening the virtio-console port that carries wire frames.
// Roots are parameters so tests can use a fake sysfs/dev tree.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace ktstr::guest {

// Device name ("vport1p1") whose <sysfs_root>/class/virtio-ports/<dev>/name
// is `port_name`; kNotFound if none is.
Result<std::string> find_port_device(const std::filesystem::path& sysfs_root,
                                     std::string_view port_name);

// Finds the port and opens <dev_root>/<dev> O_RDWR, retrying until `timeout`:
// the port and its device node may appear a little after the agent starts.
// Non-blocking, so a host that stops reading turns into wire/writer.h's
// stall timeout (an error the agent reports) rather than a hang.
Result<UniqueFd> open_port(const std::filesystem::path& sysfs_root,
                           const std::filesystem::path& dev_root, std::string_view port_name,
                           std::chrono::milliseconds timeout);

// Frames written to a virtio-console port may still sit in the virtqueue
// (QEMU stops taking them while the host reads slowly), and powering off
// discards them; the kernel cannot tell userspace when the queue is empty.
// So the host acknowledges the agent's last frame (EXIT or CRASH) by writing
// at least one byte to the port; the agent ignores host input otherwise.
// Both functions are async-signal-safe (the crash handler uses them).

// Reads and drops whatever the host has written so far (the port is
// non-blocking), so that only bytes arriving after the last frame count.
void discard_host_input(int port_fd);
// True once the host wrote something; false after `timeout` (0: at once) or
// when the host hung up.
bool wait_host_ack(int port_fd, std::chrono::milliseconds timeout);

}  // namespace ktstr::guest
