// A private apt setup under the kernel cache: its own sources list, lists,
// archive cache and an empty dpkg status, so reading Debian's mirror never
// touches (or depends on) the machine's apt state. Plus the parsers for
// apt-cache output and Debian kernel package names.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::kernel::detail {

struct Mirror {
  std::string uri = "http://deb.debian.org/debian";
  std::string keyring;   // signed-by file; empty = apt's default trust
  bool trusted = false;  // [trusted=yes]: an unsigned local mirror
};

// The Debian mirror this machine uses: $KTSTR_DEBIAN_MIRROR, else the first
// non-security entry of /etc/apt/sources.list.d/debian.sources or
// /etc/apt/sources.list, else deb.debian.org.
Mirror system_mirror();
// Parsers behind system_mirror (deb822 and one-line formats).
std::optional<Mirror> parse_deb822_sources(std::string_view text);
std::optional<Mirror> parse_sources_list(std::string_view text);

// A kernel image package for one flavour, as found in the package lists.
struct KernelPackage {
  std::string name;             // linux-binary-unsigned-7.2.13+deb14-cloud-amd64
  std::string abi;              // 7.2.13+deb14
  std::string version;          // package version, 7.2.13-1
  std::string release() const;  // abi-flavour: 7.2.13+deb14-cloud-amd64
  std::string flavour;          // cloud-amd64
};

// The ABI in an unsigned kernel image package name for `flavour`
// ("cloud-amd64"), in either naming scheme:
//   linux-binary-unsigned-<abi>-<flavour>   (forky/sid)
//   linux-image-<abi>-<flavour>-unsigned    (trixie, bookworm)
// nullopt when the name is another package or another flavour.
std::optional<std::string> kernel_package_abi(std::string_view name, std::string_view flavour);
// The ABI of a kernel release of `flavour`: "7.2.13+deb14-cloud-amd64" ->
// "7.2.13+deb14"; nullopt for another flavour ("7.2.13+deb14-cloud-amd64"
// is not of flavour "amd64").
std::optional<std::string> release_abi(std::string_view release, std::string_view flavour);
// Package names from `apt-cache search` output ("name - description").
std::vector<std::string> parse_search(std::string_view out);
// (package, version) pairs from `apt-cache madison` output.
std::vector<std::pair<std::string, std::string>> parse_madison(std::string_view out);
// Names in a Depends: line of `apt-cache show` output that start with `prefix`.
std::vector<std::string> depends_with_prefix(std::string_view show, std::string_view prefix);
// The newest package (by package version, then ABI); nullopt if empty.
std::optional<KernelPackage> newest(const std::vector<KernelPackage>& pkgs);

struct AptTimeouts {
  std::chrono::milliseconds update{std::chrono::minutes(5)};
  std::chrono::milliseconds query{std::chrono::minutes(1)};
  std::chrono::milliseconds download{std::chrono::minutes(15)};
};

class PrivateApt {
 public:
  // Lays out <dir>/{sources.list,status,lists/,cache/} for `suite`.
  static Result<PrivateApt> create(const std::filesystem::path& dir, const std::string& suite,
                                   const Mirror& mirror, AptTimeouts timeouts = {});
  // apt-get update, skipped when the lists are younger than `max_age`.
  Status update(std::chrono::seconds max_age);
  // Unsigned image packages of `flavour` with their versions.
  Result<std::vector<KernelPackage>> kernel_packages(const std::string& flavour);
  Result<std::string> show(const std::string& package, const std::string& version);
  // apt-get download name=version ... into `dest`.
  Status download(const std::vector<std::string>& name_eq_version,
                  const std::filesystem::path& dest);
  const std::string& suite() const { return suite_; }
  const Mirror& mirror() const { return mirror_; }

 private:
  std::vector<std::string> options() const;
  Result<std::string> run(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                          const std::string& cwd = {});
  std::filesystem::path dir_;
  std::string suite_;
  Mirror mirror_;
  AptTimeouts timeouts_;
};

}  // namespace ktstr::kernel::detail
