// Guest-RAM shm files: unique names that carry the owning pid, a sweep that
// deletes files left by dead ktstr processes, and a process-wide registry
// of live shm files and QEMU pids for last-resort cleanup.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::vm {

inline constexpr std::string_view kShmBase = "ktstr";

// "<base>-<pid>-<16 hex random>", unique per call.
std::string make_shm_prefix(std::string_view base = kShmBase);
// The owner pid encoded in a file name "<base>-<pid>-...", or -1.
pid_t shm_owner_pid(std::string_view file_name, std::string_view base = kShmBase);

// Deletes <shm_dir>/<base>-<pid>-* whose pid no longer exists (a pid that
// exists but belongs to another user counts as alive). Returns how many
// files were removed; a missing shm_dir removes nothing.
Result<size_t> remove_stale_shm(const std::filesystem::path& shm_dir,
                                std::string_view base = kShmBase);

// Machine temp dirs are named <base>/<kVmDirBase>-<pid>-XXXXXX; this removes
// (recursively) those whose pid no longer exists.
inline constexpr std::string_view kVmDirBase = "ktstr-vm";
Result<size_t> remove_stale_vm_dirs(const std::filesystem::path& base);

// Process-wide registry (thread-safe). Machine registers its shm files and
// QEMU pid for its lifetime.
void register_shm_file(const std::filesystem::path& path);
void unregister_shm_file(const std::filesystem::path& path);
void register_qemu_pid(pid_t pid);
void unregister_qemu_pid(pid_t pid);
std::vector<std::filesystem::path> live_shm_files();
std::vector<pid_t> live_qemu_pids();
// Last resort when destructors cannot run (e.g. from a std::terminate
// handler): SIGKILLs registered QEMUs and unlinks registered shm files.
// Not async-signal-safe; normal SIGINT/SIGTERM handling unwinds through
// ~Machine instead.
void emergency_cleanup();

}  // namespace ktstr::vm
