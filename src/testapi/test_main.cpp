// test_main: the two lives of a test binary. As the VM's PID 1 (with a run
// spec in its root) it is the guest agent; anywhere else it is the host
// driver: --list, --run NAME..., or every test in turn.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "guest/run_spec.h"
#include "testapi/guest_mode.h"
#include "testapi/host_run.h"
#include "testapi/ktstr_test.h"
#include "util/files.h"
#include "util/interrupt.h"

namespace ktstr {

namespace {

struct Args {
  bool list = false;
  std::vector<std::string> run;
  std::string kernel;
  std::string accel = "auto";
  std::string out;
  bool verbose = false;
  std::string scheduler = "eevdf";
  std::vector<std::string> flags;
  std::string sched_args;
};

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

void print_outcome(const runner::TestOutcome& t) {
  std::string scheduler = t.scheduler == "eevdf" ? "" : t.scheduler + ", ";
  std::printf("%s %s (%s%s)%s%s\n", std::string(runner::to_string(t.verdict)).c_str(),
              t.scenario.c_str(), scheduler.c_str(), seconds(t.wall).c_str(),
              t.reason.empty() ? "" : "  ", t.reason.c_str());
  if (t.verdict == runner::Verdict::kFail && !t.details.empty()) {
    for (auto& line : split(t.details, '\n'))
      if (!line.empty()) std::printf("    %.*s\n", static_cast<int>(line.size()), line.data());
  }
  std::fflush(stdout);
}

Status write_sidecar(const std::filesystem::path& dir, const runner::TestOutcome& t) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("--out " + dir.string());
  std::string file = t.scenario + (t.scheduler == "eevdf" ? "" : "." + t.scheduler) + ".json";
  return write_file_atomic(dir / file, runner::to_json(t).dump(2) + "\n");
}

Result<std::vector<const TestCase*>> select(const std::vector<std::string>& names) {
  std::vector<const TestCase*> out;
  if (names.empty()) {
    for (const auto& t : all_tests()) out.push_back(&t);
    return out;
  }
  for (const auto& n : names) {
    const TestCase* t = find_test(n);
    if (!t) return not_found("--run " + n + ": no such test; see --list");
    out.push_back(t);
  }
  return out;
}

Result<int> run_tests(const Args& args) {
  KTSTR_ASSIGN(auto tests, select(args.run));
  testapi::HostOptions opts;
  if (!args.kernel.empty()) opts.kernel = args.kernel;
  KTSTR_ASSIGN(opts.accel, vm::parse_accel(args.accel), "--accel");
  opts.verbose = args.verbose;
  if (args.scheduler != "eevdf" || !args.flags.empty()) {
    KTSTR_ASSIGN(auto choice, runner::choose_scheduler(args.scheduler, args.flags));
    for (auto& a : split(args.sched_args, ' '))
      if (!a.empty()) choice.extra_args.push_back(a);
    opts.scheduler = std::move(choice);
  }
  auto note = [&args](std::string_view s) {
    if (args.verbose) std::fprintf(stderr, "ktstr: %.*s\n", static_cast<int>(s.size()), s.data());
  };
  KTSTR_ASSIGN(auto agent, testapi::GuestAgent::prepare(note));

  int passed = 0, failed = 0, skipped = 0;
  for (const TestCase* t : tests) {
    KTSTR_ASSIGN(auto outcome, testapi::run_in_vm(*t, opts, agent.path()));
    print_outcome(outcome);
    if (!args.out.empty()) KTSTR_TRY(write_sidecar(args.out, outcome));
    switch (outcome.verdict) {
      case runner::Verdict::kPass:
        ++passed;
        break;
      case runner::Verdict::kFail:
        ++failed;
        break;
      case runner::Verdict::kSkip:
        ++skipped;
        break;
    }
    if (interrupted()) return Error(Errc::kFailed, "interrupted");
  }
  if (tests.size() > 1) std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}

int host_main(int argc, char** argv) {
  CLI::App app{
      "ktstr scheduler tests written in C++: each test runs in a fresh VM of its topology"};
  Args args;
  app.add_flag("--list", args.list, "Print the test names, one per line");
  app.add_option("--run", args.run, "Run this test (repeatable; default: every test)");
  app.add_option("--kernel", args.kernel,
                 "Kernel image path, cache key or version (default: newest cached)");
  app.add_option("--accel", args.accel, "auto|kvm|tcg (auto: KVM when it can really run a guest)");
  app.add_option("--out", args.out, "Write a JSON sidecar per test into this folder");
  app.add_option(
      "--scheduler", args.scheduler,
      "Scheduler under test: eevdf (default), a built-in name (scx_simple, ...) or a path");
  app.add_option("--flags", args.flags, "Scheduler flags to turn on (comma-separated)")
      ->delimiter(',');
  app.add_option("--sched-args", args.sched_args,
                 "Extra arguments for the scheduler (split on spaces)");
  app.add_flag("-v,--verbose", args.verbose, "Show the QEMU command line and the kernel console");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  auto errors = validate_tests(all_tests());
  for (const auto& e : errors) std::fprintf(stderr, "ktstr: bad test: %s\n", e.c_str());
  if (!errors.empty()) return 2;

  if (args.list) {
    for (const auto& t : all_tests()) std::printf("%s\n", t.name.c_str());
    return 0;
  }
  install_interrupt_handlers();
  auto result = run_tests(args);
  if (!result.ok()) {
    std::fprintf(stderr, "ktstr: error: %s\n", result.error().message().c_str());
    auto code = result.error().code();
    return code == Errc::kInvalidArgument || code == Errc::kNotFound ? 2 : 1;
  }
  return *result;
}

}  // namespace

int test_main(int argc, char** argv) {
  // PID 1 alone could be a container's entry point: only a ktstr VM's
  // initramfs also holds a run spec.
  if (::getpid() == 1 && ::access(std::string(guest::kRunSpecPath).c_str(), R_OK) == 0) {
    std::string program = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "";
    return testapi::run_as_agent(program.c_str());
  }
  return host_main(argc, argv);
}

}  // namespace ktstr
