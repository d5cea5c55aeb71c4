// Initramfs assembly for one VM run: a cached base archive (same for every
// run) plus a small per-run overlay. The kernel unpacks concatenated newc
// archives in order, later entries replacing earlier ones, so the VM layer
// passes concatenate({base, overlay}) as QEMU's -initrd.
//
// Guest layout:
//   /init                         the guest agent (BaseSpec::agent)
//   /bin/busybox, /bin/<applet>   symlinks "busybox" for every `busybox --list` applet
//   /bin/<name>                   each BaseSpec::extra_binaries entry (wins over an applet)
//   /proc /sys /sys/fs/cgroup /dev /tmp (1777) /run /mnt /root /etc
//   /dev/console (c 5 1), /dev/null (c 1 3), /etc/passwd + /etc/group (root only)
//   shared libraries of every dynamic ELF: at the host path the host loader
//   resolves (e.g. /lib/x86_64-linux-gnu/libc.so.6, real file contents), the
//   interpreter at its PT_INTERP path; a library found outside the guest
//   loader's built-in dirs (e.g. /usr/local/lib, $ORIGIN) also gets a
//   symlink /lib/x86_64-linux-gnu/<name> so it loads without ld.so.cache.
//
// Overlay includes (CLI -i/--include PATH):
//   a file      -> /include/<basename> (or Include::guest_path), host mode kept;
//                  an executable one is also linked as /bin/<basename>, so it
//                  is on PATH (and replaces a busybox applet of that name)
//   a directory -> /include/<basename>/... recursively; symlinks kept as
//                  symlinks; sockets/fifos/devices skipped; not linked into /bin
//   executable ELF files bring their library closure.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace ktstr::initramfs {

// Bump when the base layout changes: it is part of the cache key.
inline constexpr int kBaseFormatVersion = 1;

struct BaseSpec {
  std::filesystem::path busybox = "/bin/busybox";
  std::filesystem::path agent;                        // ktstr-guest, becomes /init
  std::vector<std::filesystem::path> extra_binaries;  // -> /bin/<basename>
};

// Returns <cache_dir>/base-<hash>.cpio, building it only if absent. The hash
// covers every input file's bytes, guest paths, modes and kBaseFormatVersion.
// Safe for concurrent callers (temp file + rename). Creates cache_dir. A
// base in use is touched (mtime = now); building a new one prunes the bases
// unused for kBaseMaxIdle, so every rebuild of the agent does not leave a
// ~2 MB archive behind for good.
inline constexpr std::chrono::hours kBaseMaxIdle{24};
Result<std::filesystem::path> build_base(const BaseSpec& spec,
                                         const std::filesystem::path& cache_dir);

// Removes <cache_dir>/base-*.cpio (and stale .tmp- files) not modified for
// `max_idle`, except `keep`; returns how many were removed.
size_t prune_stale_bases(const std::filesystem::path& cache_dir, const std::filesystem::path& keep,
                         std::chrono::seconds max_idle = kBaseMaxIdle);

struct Include {
  std::filesystem::path host_path;  // file or directory
  std::string guest_path;           // empty: /include/<basename>
  bool link_in_bin = true;          // executable file: also /bin/<basename> -> guest_path
};

struct OverlaySpec {
  std::vector<std::pair<std::string, std::string>> files;  // guest path, contents (mode 0644)
  std::vector<Include> includes;
};

// Writes the per-run archive to `out` (removed again on failure).
Status write_overlay(const OverlaySpec& spec, const std::filesystem::path& out);

// out = parts in order, each padded to a 4-byte boundary (the kernel expects
// every header 4-aligned). Uses copy_file_range (reflink-cheap where the
// filesystem allows). Removes `out` on failure.
Status concatenate(const std::vector<std::filesystem::path>& parts,
                   const std::filesystem::path& out);

}  // namespace ktstr::initramfs
