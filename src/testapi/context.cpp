#include "testapi/context.h"

#include <algorithm>
#include <cctype>

#include "scenario/toml_parser.h"
#include "scenario/toml_writer.h"

namespace ktstr {

namespace {

// Parse errors of the round trip read "<virtual>:LINE:COL: field ...": the
// line and column are of generated TOML, meaningless in C++; drop them.
std::string without_positions(const std::string& message, const std::string& virtual_name) {
  std::string out;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t hit = message.find(virtual_name + ":", pos);
    if (hit == std::string::npos) {
      out += message.substr(pos);
      break;
    }
    out += message.substr(pos, hit - pos);
    size_t p = hit + virtual_name.size();
    // ":LINE:COL: "
    size_t q = p;
    int numbers = 0;
    while (numbers < 2 && q < message.size() && message[q] == ':') {
      size_t d = q + 1;
      while (d < message.size() && std::isdigit(static_cast<unsigned char>(message[d]))) ++d;
      if (d == q + 1) break;
      q = d;
      ++numbers;
    }
    if (numbers == 2 && message.compare(q, 2, ": ") == 0) {
      pos = q + 2;
    } else {
      out += virtual_name;
      pos = p;
    }
  }
  return out;
}

// The test runs on exactly `topo`: requirements it meets can be raised to
// it without changing the outcome, which satisfies the model's coverage
// rule (a value needing N CPUs must be backed by [requires]).
scenario::Requirements covering(scenario::Requirements r, const topo::Topology& topo) {
  r.min_cpus = std::max(r.min_cpus, topo.num_cpus());
  r.min_llcs = std::max(r.min_llcs, topo.llcs);
  r.min_numa_nodes = std::max(r.min_numa_nodes, topo.numa_nodes);
  return r;
}

}  // namespace

Context::Context(std::string name, TestOptions options, topo::Topology topology,
                 scenario::EngineEvents events, std::function<bool()> should_stop)
    : name_(std::move(name)),
      options_(std::move(options)),
      topology_(std::move(topology)),
      events_(std::move(events)),
      should_stop_(std::move(should_stop)) {}

void Context::log(std::string_view line) const {
  if (events_.log) events_.log(line);
}

TestResult skip(const Context& ctx, std::string reason) {
  TestResult r;
  r.run.scenario = ctx.name();
  r.run.skipped = true;
  r.run.skip_reason = std::move(reason);
  return r;
}

TestResult fail(const Context& ctx, std::string message) {
  ctx.log(ctx.name() + ": " + message);
  TestResult r;
  r.run.scenario = ctx.name();
  r.run.errors.push_back(std::move(message));
  return r;
}

TestResult run(Context& ctx, std::vector<CgroupDef> backdrop) {
  return run(ctx, Scenario(std::move(backdrop)));
}

TestResult run(Context& ctx, const Scenario& scenario) {
  auto model =
      scenario.build(ctx.name(), ctx.options().description, ctx.options().duration_s * 1000);
  if (!model.ok()) return fail(ctx, model.error().message());
  return run(ctx, std::move(*model));
}

TestResult run(Context& ctx, scenario::Scenario model) {
  if (model.name.empty()) model.name = ctx.name();
  if (model.description.empty()) model.description = ctx.options().description;
  const auto& topo = ctx.topology();
  if (auto why = model.requirements.unmet_by(topo)) return skip(ctx, *why);
  if (auto st = scenario::check_topology(model, topo); !st.ok())
    return fail(ctx, st.error().message());

  // The model's own strict checks (names, references, ranges) are those of
  // its file parser: the same round trip the host and guest do in scenario mode.
  const auto requested = model.requirements;
  model.requirements = covering(requested, topo);
  const std::string where = "test " + ctx.name();
  auto checked = scenario::parse_scenario_text(scenario::to_toml(model), where);
  if (!checked.ok()) return fail(ctx, without_positions(checked.error().message(), where));
  checked->requirements = requested;

  scenario::EngineConfig cfg;
  cfg.topology = topo;
  cfg.should_stop = ctx.should_stop();
  cfg.snapshot = ctx.host_requests().snapshot;
  cfg.watch = ctx.host_requests().watch;
  cfg.kernel_op = ctx.host_requests().kernel_op;
  auto result = scenario::run_scenario(*checked, cfg, ctx.events());
  if (!result.ok()) return fail(ctx, "scenario could not run: " + result.error().message());
  return TestResult{std::move(*result)};
}

}  // namespace ktstr
