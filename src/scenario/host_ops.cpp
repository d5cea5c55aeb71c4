#include "scenario/host_ops.h"

namespace ktstr::scenario {

namespace {

template <typename T>
HostRequest record_text(std::string_view op, const std::string& tag, uint32_t step,
                        Result<T> result) {
  HostRequest r{std::string(op), tag, step};
  r.ok = result.ok();
  if (!result.ok()) {
    r.error = result.error().message();
  } else if constexpr (std::is_same_v<T, std::string>) {
    r.detail = *result;
  } else {
    r.value = *result;
  }
  return r;
}

}  // namespace

bool is_host_op(const Op& op) {
  return std::holds_alternative<ops::Snapshot>(op) || std::holds_alternative<ops::WatchSnapshot>(op) ||
         std::holds_alternative<ops::KernelRead>(op) || std::holds_alternative<ops::KernelWrite>(op);
}

std::string describe_host_op(const Op& op) {
  std::string tag;
  if (const auto* s = std::get_if<ops::Snapshot>(&op)) tag = s->name;
  if (const auto* w = std::get_if<ops::WatchSnapshot>(&op)) tag = w->symbol;
  if (const auto* r = std::get_if<ops::KernelRead>(&op)) tag = r->spec.tag;
  if (const auto* w = std::get_if<ops::KernelWrite>(&op)) tag = w->spec.tag;
  return std::string(op_name(op)) + " '" + tag + "'";
}

std::optional<HostRequest> run_host_op(const Op& op, const EngineConfig& cfg, uint32_t step) {
  const std::string_view name = op_name(op);
  if (const auto* s = std::get_if<ops::Snapshot>(&op)) {
    if (!cfg.snapshot) return std::nullopt;
    return record_text(name, s->name, step, cfg.snapshot(s->name));
  }
  if (const auto* w = std::get_if<ops::WatchSnapshot>(&op)) {
    if (!cfg.watch) return std::nullopt;
    return record_text(name, w->symbol, step, cfg.watch(w->symbol));
  }
  const KernelOpSpec* spec = nullptr;
  if (const auto* r = std::get_if<ops::KernelRead>(&op)) spec = &r->spec;
  if (const auto* w = std::get_if<ops::KernelWrite>(&op)) spec = &w->spec;
  if (!spec || !cfg.kernel_op) return std::nullopt;
  HostRequest r = record_text(name, spec->tag, step, cfg.kernel_op(*spec));
  if (spec->access == KernelOpSpec::Access::kWrite) r.value.reset();  // nothing was read
  return r;
}

}  // namespace ktstr::scenario
