// Interrupt: turns SIGINT/SIGTERM/SIGHUP into an fd that long waits poll,
// so Ctrl-C unwinds through RAII destructors instead of killing the process
// with children, shm files and temp dirs left behind.
#pragma once

namespace ktstr {

// Installs the handlers (idempotent). Call once from main().
void install_interrupt_handlers();
// Readable once a terminating signal arrived; -1 before install.
int interrupt_fd();
bool interrupted();
// The signal number received, or 0.
int interrupt_signal();

}  // namespace ktstr
