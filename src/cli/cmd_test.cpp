// Scenario subcommands: `test` (in a fresh VM per scenario), `run` (on this
// host), `list`, `show-thresholds` and `cleanup`.
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "cgroup/cleanup.h"
#include "cgroup/detect.h"
#include "check/thresholds.h"
#include "cli/commands.h"
#include "cli/machine_options.h"
#include "runner/test_run.h"
#include "scenario/catalog.h"
#include "util/files.h"
#include "util/interrupt.h"
#include "workload/work_spec.h"

namespace ktstr::cli {

namespace {

struct ScenarioOverrides {
  double duration_s = 0;
  uint32_t workers = 0;
  std::string work_type;
};

void add_overrides(CLI::App* cmd, ScenarioOverrides& o) {
  cmd->add_option("--duration", o.duration_s, "Override each scenario's duration (seconds)");
  cmd->add_option("--workers", o.workers, "Override the worker count of every cgroup");
  cmd->add_option("--work-type", o.work_type, "Override the work type of every cgroup (e.g. cpu-spin)");
}

Result<scenario::Scenario> apply_overrides(scenario::Scenario s, const ScenarioOverrides& o) {
  if (o.duration_s > 0) {
    KTSTR_ASSIGN(s, s.with_duration_s(o.duration_s), "--duration");
  }
  if (o.workers > 0) {
    KTSTR_ASSIGN(s, s.with_workers(o.workers), "--workers");
  }
  if (!o.work_type.empty()) {
    KTSTR_ASSIGN(auto type, workload::parse_work_type(o.work_type), "--work-type");
    s = s.with_work_type(type);
  }
  return s;
}

// Every named scenario, all errors reported together.
Result<std::vector<scenario::Scenario>> resolve_scenarios(const std::vector<std::string>& names,
                                                          const ScenarioOverrides& o) {
  std::vector<scenario::Scenario> out;
  std::string errors;
  for (auto& n : names) {
    auto s = scenario::find_scenario(n);
    if (s.ok()) s = apply_overrides(std::move(*s), o);
    if (s.ok()) out.push_back(std::move(*s));
    else errors += (errors.empty() ? "" : "\n") + s.error().message();
  }
  if (!errors.empty()) return invalid_argument(errors);
  return out;
}

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

std::string indent(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    out += "    " + text.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string scheduler_column(const runner::TestOutcome& t) {
  std::string col = t.scheduler;
  auto& rep = t.scheduler_report;
  if (rep.is_object() && rep.value("attached", false) && rep.contains("attach_ms") &&
      rep["attach_ms"].is_number())
    col += " (attached " + seconds(std::chrono::milliseconds(rep["attach_ms"].get<int64_t>())) + ")";
  return col;
}

void print_outcome(const runner::TestOutcome& t) {
  std::printf("%-4s  %-24s %-10s %-32s %s%s%s\n", std::string(runner::to_string(t.verdict)).c_str(),
              t.scenario.c_str(), t.topology.c_str(), scheduler_column(t).c_str(),
              seconds(t.wall).c_str(), t.reason.empty() ? "" : "  ", t.reason.c_str());
  if (t.verdict == runner::Verdict::kFail && !t.details.empty())
    std::printf("%s", indent(t.details).c_str());
  std::fflush(stdout);
}

std::filesystem::path default_out_dir() {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::gmtime(&now));
  return std::filesystem::path("ktstr-results") / stamp;
}

Status write_sidecar(const std::filesystem::path& dir, const runner::TestOutcome& t) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("--out " + dir.string());
  std::string file = t.scenario + (t.scheduler == "eevdf" ? "" : "." + t.scheduler) + ".json";
  return write_file_atomic(dir / file, runner::to_json(t).dump(2) + "\n");
}

// --monitor-json: the timeline alone; with several runs one file per run.
Status write_monitor_json(const std::filesystem::path& file, const runner::TestOutcome& t, bool many) {
  auto path = file;
  if (many) {
    std::string stem = file.extension() == ".json" ? file.stem().string() : file.filename().string();
    path = file.parent_path() / (stem + "." + t.scenario + (t.scheduler == "eevdf" ? "" : "." + t.scheduler) + ".json");
  }
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  nlohmann::json j = t.observation ? runner::to_json(*t.observation) : nlohmann::json::object();
  if (t.observation) j["verdict"] = monitor::to_json(t.monitor);
  else j["notes"] = {"no observation: the run did not reach the guest kernel"};
  return write_file_atomic(path, j.dump(2) + "\n");
}

// Runs each scenario, prints a line per scenario; 0 only when none failed.
template <typename Item, typename RunOne>
Result<int> run_all(const std::vector<Item>& items, const std::string& out, bool json,
                    RunOne run_one) {
  auto dir = out.empty() ? default_out_dir() : std::filesystem::path(out);
  int failed = 0, passed = 0, skipped = 0;
  nlohmann::json all = nlohmann::json::array();
  for (auto& item : items) {
    KTSTR_ASSIGN(auto t, run_one(item));
    if (!json) print_outcome(t);
    KTSTR_TRY(write_sidecar(dir, t));
    if (json) all.push_back(runner::to_json(t));
    (t.verdict == runner::Verdict::kFail ? failed : t.verdict == runner::Verdict::kPass ? passed : skipped)++;
    if (interrupted()) return Error(Errc::kFailed, "interrupted");
  }
  if (json) std::printf("%s\n", all.dump(2).c_str());
  else
    std::printf("%d passed, %d failed, %d skipped (details: %s)\n", passed, failed, skipped,
                dir.string().c_str());
  return failed ? 1 : 0;
}

}  // namespace

void add_test_commands(CLI::App& app, Runner& run) {
  struct TestOpts : MachineOptions {
    ScenarioOverrides over;
    std::string out;
    bool json = false;
    std::vector<std::string> scenarios;
    std::string scheduler = "eevdf";
    std::vector<std::string> flags;
    bool all_profiles = false;
    std::string sched_args;
    uint32_t watchdog_ms = 0;
    std::string monitor_json;
    bool no_monitor = false;
    uint32_t monitor_interval_ms = 100;
  };
  auto t = std::make_shared<TestOpts>();
  auto* test = app.add_subcommand("test", "Run scenarios, each in a fresh VM, and judge them");
  add_machine_options(test, *t);
  add_overrides(test, t->over);
  test->add_option("--timeout", t->timeout_s, "Seconds a scenario's VM may run (default: scales with duration)");
  test->add_option("--out", t->out, "Folder for the JSON sidecars (default: ktstr-results/<time>)");
  test->add_flag("--json", t->json, "Print the results as JSON instead of lines");
  test->add_option("--scheduler", t->scheduler,
                   "Scheduler under test: eevdf (default), a built-in name (scx_simple, fixture, ...) or a path");
  test->add_option("--flags", t->flags, "Scheduler flags to turn on (comma-separated)")->delimiter(',');
  test->add_flag("--all-profiles", t->all_profiles, "Run every valid flag combination of the scheduler");
  test->add_option("--sched-args", t->sched_args, "Extra arguments for the scheduler (split on spaces)");
  test->add_option("--watchdog-ms", t->watchdog_ms,
                   "sched_ext watchdog timeout for schedulers that take one (default: theirs)");
  test->add_option("--monitor-json", t->monitor_json,
                   "Write the host monitor's per-CPU timeline to this file (one run; with more, "
                   "<file>.<scenario>[.<scheduler>].json each)");
  test->add_flag("--no-monitor", t->no_monitor,
                 "Do not watch the guest kernel from the host (no monitor, snapshots or kernel ops)");
  test->add_option("--monitor-interval-ms", t->monitor_interval_ms, "Host monitor sampling period")
      ->check(CLI::Range(10u, 10000u));
  test->add_option("scenarios", t->scenarios, "Catalog names or scenario .toml files")->required();
  test->callback([&run, t] {
    run = [t]() -> Result<int> {
      KTSTR_ASSIGN(auto scenarios, resolve_scenarios(t->scenarios, t->over));
      KTSTR_ASSIGN(auto base, machine_request(*t));
      base.on_stdout = nullptr;  // scenario output is the verdict, not the guest's prints
      base.on_stderr = nullptr;
      base.observe.enabled = !t->no_monitor;
      base.observe.interval = std::chrono::milliseconds(t->monitor_interval_ms);
      if (t->no_monitor && !t->monitor_json.empty())
        return invalid_argument("--monitor-json needs the monitor; drop --no-monitor");
      std::vector<runner::SchedulerChoice> scheds;
      if (t->all_profiles) {
        KTSTR_ASSIGN(scheds, runner::all_profiles(t->scheduler));
      } else {
        KTSTR_ASSIGN(auto c, runner::choose_scheduler(t->scheduler, t->flags));
        scheds.push_back(std::move(c));
      }
      for (auto& c : scheds) {
        for (auto& a : split(t->sched_args, ' '))
          if (!a.empty()) c.extra_args.push_back(a);
        c.watchdog_timeout_ms = t->watchdog_ms;
      }
      std::vector<std::pair<const scenario::Scenario*, const runner::SchedulerChoice*>> runs;
      for (auto& c : scheds)
        for (auto& s : scenarios) runs.emplace_back(&s, &c);
      const bool many = runs.size() > 1;
      return run_all(runs, t->out, t->json, [&](const auto& r) -> Result<runner::TestOutcome> {
        KTSTR_ASSIGN(auto outcome, runner::run_test_in_vm(*r.first, base, r.second));
        if (!t->monitor_json.empty())
          KTSTR_TRY(write_monitor_json(t->monitor_json, outcome, many));
        return outcome;
      });
    };
  });

  struct RunOpts {
    ScenarioOverrides over;
    std::string filter, out;
    bool json = false;
  };
  auto r = std::make_shared<RunOpts>();
  auto* host = app.add_subcommand("run", "Run the catalog directly on this host (needs cgroup v2)");
  add_overrides(host, r->over);
  host->add_option("--filter", r->filter, "Only scenarios whose name contains this");
  host->add_option("--out", r->out, "Folder for the JSON sidecars (default: ktstr-results/<time>)");
  host->add_flag("--json", r->json, "Print the results as JSON instead of lines");
  host->callback([&run, r] {
    run = [r]() -> Result<int> {
      // Refuse up front: never half-run on a cgroup v1 host.
      KTSTR_ASSIGN(auto cgroup_root, cgroup::find_cgroup2_root());
      KTSTR_ASSIGN(auto catalog, scenario::load_catalog());
      std::vector<scenario::Scenario> chosen;
      for (auto& s : scenario::filter_catalog(catalog, r->filter)) {
        KTSTR_ASSIGN(auto o, apply_overrides(s, r->over));
        chosen.push_back(std::move(o));
      }
      if (chosen.empty()) return invalid_argument("--filter '" + r->filter + "' matches no scenario; see `ktstr list`");
      return run_all(chosen, r->out, r->json, [&](const scenario::Scenario& s) {
        return runner::run_test_on_host(s, cgroup_root);
      });
    };
  });

  auto json_list = std::make_shared<bool>(false);
  auto* list = app.add_subcommand("list", "List the scenario catalog");
  list->add_flag("--json", *json_list, "As JSON");
  list->callback([&run, json_list] {
    run = [json_list]() -> Result<int> {
      KTSTR_ASSIGN(auto catalog, scenario::load_catalog());
      if (*json_list) {
        auto j = nlohmann::json::array();
        for (auto& s : catalog)
          j.push_back({{"name", s.name}, {"category", scenario::to_string(s.category)},
                       {"description", s.description}, {"duration_ms", s.duration_ms}});
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
      }
      std::printf("%-24s %-12s %s\n", "NAME", "CATEGORY", "DESCRIPTION");
      for (auto& s : catalog)
        std::printf("%-24s %-12s %s\n", s.name.c_str(), std::string(scenario::to_string(s.category)).c_str(),
                    s.description.c_str());
      std::printf("%zu scenarios\n", catalog.size());
      return 0;
    };
  });

  auto which = std::make_shared<std::string>();
  auto* show = app.add_subcommand("show-thresholds", "Print the resolved check thresholds of a scenario");
  show->add_option("scenario", *which, "Catalog name or .toml file")->required();
  show->callback([&run, which] {
    run = [which]() -> Result<int> {
      KTSTR_ASSIGN(auto s, scenario::find_scenario(*which));
      KTSTR_ASSIGN(auto th, runner::thresholds_for(s));
      std::printf("%s: thresholds (default -> scheduler -> scenario; last set wins)\n%s", s.name.c_str(),
                  check::to_text(th).c_str());
      return 0;
    };
  });

  auto* clean = app.add_subcommand("cleanup", "Remove cgroups left behind by dead ktstr runs on this host");
  clean->callback([&run] {
    run = []() -> Result<int> {
      KTSTR_ASSIGN(auto root, cgroup::find_cgroup2_root());
      KTSTR_ASSIGN(auto removed, cgroup::cleanup_stale(root));
      for (auto& p : removed) std::printf("removed %s\n", p.c_str());
      std::printf("%zu stale ktstr cgroups removed\n", removed.size());
      return 0;
    };
  });
}

}  // namespace ktstr::cli
