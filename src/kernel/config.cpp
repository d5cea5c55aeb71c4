#include "kernel/config.h"

#include <algorithm>

#include "util/files.h"

namespace ktstr::kernel {

namespace {

std::string_view strip_prefix(std::string_view name) {
  if (name.starts_with("CONFIG_")) name.remove_prefix(7);
  return name;
}

struct Known {
  std::string_view name;
  std::string_view without;  // what breaks when it is missing
};

constexpr Known kChecked[] = {
    {kSchedExt, "sched_ext schedulers cannot be loaded (needs Linux >= 6.12)"},
    {kDebugInfoBtf, "no kernel BTF: BPF schedulers cannot be loaded"},
    {kCpusets, "scenarios cannot confine cgroups to CPU sets"},
    {kVirtioConsole, "the guest cannot report results over virtio-console"},
    {kNuma, "multi-node topologies appear as one NUMA node"},
    {kSchedMc, "no LLC (multi-core) scheduling domains"},
    {kSchedSmt, "no SMT scheduling domains"},
};

std::string describe(const KernelConfig& c, std::string_view name, std::string_view without) {
  std::string state =
      c.value(name) == "m" ? "is a module (=m; ktstr loads no modules)" : "is not set";
  return "CONFIG_" + std::string(name) + " " + state + ": " + std::string(without);
}

}  // namespace

KernelConfig KernelConfig::parse(std::string_view text) {
  KernelConfig cfg;
  for (const auto& raw : split(text, '\n')) {
    std::string_view line = trim(raw);
    if (line.starts_with("# CONFIG_") && line.ends_with(" is not set")) {
      line.remove_prefix(2 + 7);
      line.remove_suffix(11);
      cfg.values_[std::string(trim(line))] = "n";
      continue;
    }
    if (!line.starts_with("CONFIG_")) continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(strip_prefix(trim(line.substr(0, eq))));
    std::string_view v = trim(line.substr(eq + 1));
    std::string value;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      v = v.substr(1, v.size() - 2);
      for (size_t i = 0; i < v.size(); ++i) {  // undo Kconfig's \" and \\ escapes
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        value += v[i];
      }
    } else {
      value = v;
    }
    cfg.values_[std::move(name)] = std::move(value);
  }
  return cfg;
}

std::optional<std::string> KernelConfig::value(std::string_view name) const {
  auto it = values_.find(strip_prefix(name));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

bool KernelConfig::enabled(std::string_view name) const {
  auto v = value(name);
  return v == "y" || v == "m";
}

bool KernelConfig::builtin(std::string_view name) const { return value(name) == "y"; }

Status ConfigCheck::status() const {
  if (errors.empty()) return {};
  return invalid_argument(errors.front());
}

ConfigCheck check_config(const KernelConfig& config, const Requirements& req) {
  ConfigCheck out;
  auto is_required = [&](std::string_view name) {
    return std::any_of(req.required.begin(), req.required.end(),
                       [&](const std::string& r) { return strip_prefix(r) == name; });
  };
  for (const auto& k : kChecked) {
    if (config.builtin(k.name)) continue;
    std::string line = describe(config, k.name, k.without);
    if (is_required(k.name))
      out.errors.push_back(line + "; use a kernel that has it (e.g. `ktstr kernel fetch`)");
    else
      out.warnings.push_back(line);
  }
  for (const auto& r : req.required) {
    std::string_view name = strip_prefix(r);
    bool known = std::any_of(std::begin(kChecked), std::end(kChecked),
                             [&](const Known& k) { return k.name == name; });
    if (!known && !config.builtin(name))
      out.errors.push_back(describe(config, name, "required by this run") +
                           "; use a kernel that has it");
  }
  return out;
}

}  // namespace ktstr::kernel
