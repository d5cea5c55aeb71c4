#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "kernel/detail/apt.h"
#include "kernel/version.h"
#include "util/files.h"
#include "util/subprocess.h"

namespace ktstr::kernel::detail {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

bool is_security(std::string_view uri, std::string_view suites) {
  return uri.find("security") != std::string_view::npos ||
         suites.find("-security") != std::string_view::npos;
}

}  // namespace

std::string KernelPackage::release() const { return abi + "-" + flavour; }

std::optional<Mirror> parse_deb822_sources(std::string_view text) {
  // Stanzas are separated by blank lines; fields are "Name: value".
  std::vector<std::string> lines = split(text, '\n');
  lines.emplace_back();
  std::string uris, suites, signed_by, types;
  for (const auto& raw : lines) {
    std::string_view line = trim(raw);
    if (line.starts_with("#")) continue;
    if (line.empty()) {
      auto type_words = split(types, ' ');
      bool binary = std::find(type_words.begin(), type_words.end(), "deb") != type_words.end();
      if (!uris.empty() && binary && !is_security(uris, suites)) {
        Mirror m;
        m.uri = split(uris, ' ').front();
        m.keyring = signed_by;
        return m;
      }
      uris.clear(), suites.clear(), signed_by.clear(), types.clear();
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string field(trim(line.substr(0, colon)));
    std::transform(field.begin(), field.end(), field.begin(), ::tolower);
    std::string value(trim(line.substr(colon + 1)));
    if (field == "uris")
      uris = value;
    else if (field == "suites")
      suites = value;
    else if (field == "signed-by")
      signed_by = value;
    else if (field == "types")
      types = value;
  }
  return std::nullopt;
}

std::optional<Mirror> parse_sources_list(std::string_view text) {
  for (const auto& raw : split(text, '\n')) {
    std::string_view line = trim(raw);
    if (!line.starts_with("deb ")) continue;
    line.remove_prefix(4);
    Mirror m;
    line = trim(line);
    if (line.starts_with("[")) {
      auto close = line.find(']');
      if (close == std::string_view::npos) continue;
      for (const auto& opt : split(line.substr(1, close - 1), ' '))
        if (opt.starts_with("signed-by=")) m.keyring = opt.substr(10);
      line = trim(line.substr(close + 1));
    }
    auto words = split(line, ' ');
    if (words.size() < 2 || is_security(words[0], words[1])) continue;
    m.uri = words[0];
    return m;
  }
  return std::nullopt;
}

Mirror system_mirror() {
  Mirror m;
  if (const char* env = std::getenv("KTSTR_DEBIAN_MIRROR"); env && *env) {
    m.uri = env;
  } else if (auto t = read_file_limited("/etc/apt/sources.list.d/debian.sources", 1 << 20);
             t.ok()) {
    if (auto p = parse_deb822_sources(*t)) m = *p;
  } else if (auto l = read_file_limited("/etc/apt/sources.list", 1 << 20); l.ok()) {
    if (auto p = parse_sources_list(*l)) m = *p;
  }
  if (m.keyring.empty() && ::access(kDefaultKeyring, R_OK) == 0) m.keyring = kDefaultKeyring;
  while (m.uri.size() > 1 && m.uri.back() == '/') m.uri.pop_back();
  return m;
}

std::optional<std::string> release_abi(std::string_view release, std::string_view flavour) {
  std::string tail = "-" + std::string(flavour);
  if (release.size() <= tail.size() || !release.ends_with(tail)) return std::nullopt;
  std::string_view abi = release.substr(0, release.size() - tail.size());
  // The ABI starts with a digit; a purely alphabetic '-' part means another
  // flavour ("7.2.13+deb14-rt" + "-amd64" is the rt flavour, not generic).
  if (!std::isdigit(static_cast<unsigned char>(abi.front()))) return std::nullopt;
  auto parts = split(abi, '-');
  for (size_t i = 1; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (p.empty() || std::all_of(p.begin(), p.end(), [](char c) {
          return std::isalpha(static_cast<unsigned char>(c)) != 0;
        }))
      return std::nullopt;
  }
  return std::string(abi);
}

std::optional<std::string> kernel_package_abi(std::string_view name, std::string_view flavour) {
  if (name.starts_with("linux-binary-unsigned-")) return release_abi(name.substr(22), flavour);
  if (name.starts_with("linux-image-") && name.ends_with("-unsigned"))
    return release_abi(name.substr(12, name.size() - 12 - 9), flavour);
  return std::nullopt;
}

std::vector<std::string> parse_search(std::string_view out) {
  std::vector<std::string> names;
  for (const auto& line : split(out, '\n')) {
    auto sep = line.find(" - ");
    std::string_view name = trim(std::string_view(line).substr(0, sep));
    if (!name.empty() && name.find(' ') == std::string_view::npos) names.emplace_back(name);
  }
  return names;
}

std::vector<std::pair<std::string, std::string>> parse_madison(std::string_view out) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& line : split(out, '\n')) {
    auto cols = split(line, '|');
    if (cols.size() < 3) continue;
    std::string name(trim(cols[0])), version(trim(cols[1]));
    if (!name.empty() && !version.empty()) rows.emplace_back(name, version);
  }
  return rows;
}

std::vector<std::string> depends_with_prefix(std::string_view show, std::string_view prefix) {
  std::vector<std::string> out;
  for (const auto& line : split(show, '\n')) {
    if (!line.starts_with("Depends:") && !line.starts_with("Pre-Depends:")) continue;
    for (const auto& dep : split(line.substr(line.find(':') + 1), ',')) {
      for (const auto& alt : split(dep, '|')) {
        std::string_view a = trim(alt);
        std::string name(a.substr(0, a.find_first_of(" (:")));
        if (name.starts_with(prefix) && std::find(out.begin(), out.end(), name) == out.end())
          out.push_back(name);
      }
    }
  }
  return out;
}

std::optional<KernelPackage> newest(const std::vector<KernelPackage>& pkgs) {
  if (pkgs.empty()) return std::nullopt;
  return *std::max_element(pkgs.begin(), pkgs.end(),
                           [](const KernelPackage& a, const KernelPackage& b) {
                             if (int c = compare_versions(a.version, b.version)) return c < 0;
                             return compare_versions(a.abi, b.abi) < 0;
                           });
}

Result<PrivateApt> PrivateApt::create(const fs::path& dir, const std::string& suite,
                                      const Mirror& mirror, AptTimeouts timeouts) {
  if (suite.empty() || suite.front() == '.' || suite.find_first_of(" /[]") != std::string::npos)
    return invalid_argument("--suite '" + suite +
                            "' is not a Debian suite name (e.g. sid, trixie)");
  std::error_code ec;
  for (const char* sub : {"lists/partial", "cache/archives/partial"}) {
    fs::create_directories(dir / sub, ec);
    if (ec) return Error(Errc::kIo, "cannot create " + (dir / sub).string() + ": " + ec.message());
  }
  std::string line = "deb ";
  if (mirror.trusted)
    line += "[trusted=yes] ";
  else if (!mirror.keyring.empty())
    line += "[signed-by=" + mirror.keyring + "] ";
  line += mirror.uri + " " + suite + " main\n";
  KTSTR_TRY(write_file_atomic(dir / "sources.list", line));
  if (!fs::exists(dir / "status", ec)) KTSTR_TRY(write_file(dir / "status", ""));
  PrivateApt apt;
  apt.dir_ = dir;
  apt.suite_ = suite;
  apt.mirror_ = mirror;
  apt.timeouts_ = timeouts;
  return apt;
}

std::vector<std::string> PrivateApt::options() const {
  std::vector<std::string> o = {
      "-o", "Dir::Etc::sourcelist=" + (dir_ / "sources.list").string(),
      "-o", "Dir::Etc::sourceparts=/nonexistent",
      "-o", "Dir::Etc::preferences=/nonexistent",
      "-o", "Dir::Etc::preferencesparts=/nonexistent",
      "-o", "Dir::State::Lists=" + (dir_ / "lists").string(),
      "-o", "Dir::State::status=" + (dir_ / "status").string(),
      "-o", "Dir::Cache=" + (dir_ / "cache").string(),
      "-o", "Debug::NoLocking=1",
      "-o", "APT::Architecture=amd64",
      "-o", "APT::Architectures=amd64",
      "-o", "Acquire::Languages=none",
  };
  // The _apt sandbox user cannot enter a root-owned ~/.cache; downloads go
  // into our own folders, so run them as ourselves.
  if (::geteuid() == 0) o.insert(o.end(), {"-o", "APT::Sandbox::User=root"});
  return o;
}

Result<std::string> PrivateApt::run(std::vector<std::string> argv,
                                    std::chrono::milliseconds timeout, const std::string& cwd) {
  std::string label = argv[0];
  for (size_t i = 1; i < argv.size(); ++i)
    if (!argv[i].starts_with("-")) {
      label += " " + argv[i];
      break;
    }
  auto opts = options();
  argv.insert(argv.begin() + 1, opts.begin(), opts.end());
  SpawnOptions so;
  so.cwd = cwd;
  // Same process group: a terminal Ctrl-C stops apt too, and the error
  // unwinds the fetch (temp folders are removed on the way out).
  so.new_process_group = false;
  so.extra_env = {"LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"};
  KTSTR_ASSIGN(auto out, run_command(argv, timeout, so));
  if (!out.status.success()) {
    std::string err(trim(out.err));
    // Keep the message one line: the last "E:" line says what went wrong.
    if (auto e = err.rfind("E: "); e != std::string::npos) err = err.substr(e);
    err = err.substr(0, err.find('\n'));
    return Error(Errc::kFailed, label + " failed (" + out.status.describe() +
                                    "): " + (err.empty() ? "no message" : err));
  }
  return out.out;
}

Status PrivateApt::update(std::chrono::seconds max_age) {
  std::error_code ec;
  bool fresh = false;
  for (const auto& f : fs::directory_iterator(dir_ / "lists", ec)) {
    if (f.path().filename().string().find("_Packages") == std::string::npos) continue;
    auto age = fs::file_time_type::clock::now() - f.last_write_time(ec);
    if (!ec && age < max_age) fresh = true;
  }
  if (fresh) return {};
  KTSTR_ASSIGN(auto out, run({"apt-get", "-q", "update"}, timeouts_.update),
               "reading Debian " + suite_ + " package lists from " + mirror_.uri);
  (void)out;
  return {};
}

Result<std::vector<KernelPackage>> PrivateApt::kernel_packages(const std::string& flavour) {
  KTSTR_ASSIGN(auto found, run({"apt-cache", "search", "--names-only",
                                "^linux-(binary-unsigned-[0-9].*-" + flavour + "|image-[0-9].*-" +
                                    flavour + "-unsigned)$"},
                               timeouts_.query));
  std::vector<std::string> names;
  for (auto& n : parse_search(found))
    if (kernel_package_abi(n, flavour)) names.push_back(n);
  std::vector<KernelPackage> pkgs;
  if (names.empty()) return pkgs;
  std::vector<std::string> argv = {"apt-cache", "madison"};
  argv.insert(argv.end(), names.begin(), names.end());
  KTSTR_ASSIGN(auto rows, run(argv, timeouts_.query));
  for (auto& [name, version] : parse_madison(rows)) {
    KernelPackage p;
    p.name = name;
    p.abi = *kernel_package_abi(name, flavour);
    p.version = version;
    p.flavour = flavour;
    pkgs.push_back(std::move(p));
  }
  return pkgs;
}

Result<std::string> PrivateApt::show(const std::string& package, const std::string& version) {
  return run({"apt-cache", "show", package + "=" + version}, timeouts_.query);
}

Status PrivateApt::download(const std::vector<std::string>& pkgs, const fs::path& dest) {
  std::vector<std::string> argv = {"apt-get", "-q", "download"};
  argv.insert(argv.end(), pkgs.begin(), pkgs.end());
  KTSTR_ASSIGN(auto out, run(argv, timeouts_.download, dest.string()),
               "downloading from " + mirror_.uri);
  (void)out;
  return {};
}

}  // namespace ktstr::kernel::detail
