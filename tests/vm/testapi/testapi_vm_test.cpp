// End-to-end tests of the C++ test API: the example binary lists its tests
// and passes in a real VM (the binary itself is the guest's /init), and the
// probe binaries' deliberate problems come out as FAIL / SKIP lines with
// the right reasons, exit codes and nothing left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "util/files.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace ktstr {
namespace {

struct Run {
  int code = -1;
  std::string out, err;
};

// Runs `bin args...` with a private TMPDIR, which must be empty afterwards.
class Sandbox {
 public:
  Sandbox() : tmp_(TempDir::create("ktstr-testapi-tmp-").value()) {}
  Run run(const std::string& bin, const std::vector<std::string>& args,
          std::chrono::seconds timeout = std::chrono::seconds(500)) const {
    std::vector<std::string> argv = {bin};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions opts;
    opts.extra_env = {"TMPDIR=" + tmp_.path().string()};
    auto r = run_command(argv, timeout, opts);
    Run out;
    if (!r.ok()) {
      out.err = r.error().message();
      return out;
    }
    out.code = r->status.code;
    out.out = std::move(r->out);
    out.err = std::move(r->err);
    return out;
  }
  std::string leftovers() const {
    std::string found;
    for (auto& e : std::filesystem::directory_iterator(tmp_.path()))
      found += e.path().string() + "\n";
    return found;
  }

 private:
  TempDir tmp_;
};

// The line starting with `prefix`, or "".
std::string line_starting(const std::string& out, const std::string& prefix) {
  for (auto& line : split(out, '\n'))
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

TEST(TestApi, ListPrintsOneNamePerLine) {
  Sandbox box;
  auto r = box.run(KTSTR_EXAMPLE_BIN, {"--list"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "steady_pair\nsnapshot_pair\ncpuset_swap\n");
  EXPECT_EQ(r.err, "");
}

TEST(TestApi, UnknownTestIsABadArgumentWithoutBooting) {
  Sandbox box;
  auto r = box.run(KTSTR_EXAMPLE_BIN, {"--run", "no_such_test"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--run no_such_test: no such test"), std::string::npos) << r.err;
  EXPECT_EQ(box.leftovers(), "");
}

TEST(TestApi, BadRegistrationsFailListOneLineEach) {
  Sandbox box;
  auto r = box.run(KTSTR_BAD_BIN, {"--list"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
  EXPECT_NE(r.err.find("bad_registration.cpp:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("test 'bad_topology': .topology:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("test 'no_description': .description is empty"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("'fine'"), std::string::npos) << r.err;
}

TEST(TestApi, ExamplePassesInAVm) {
  Sandbox box;
  TempDir results = TempDir::create("ktstr-testapi-out-").value();
  auto r = box.run(KTSTR_EXAMPLE_BIN, {"--run", "steady_pair", "--out", results.path().string()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(line_starting(r.out, "PASS steady_pair ("), "") << r.out;
  auto text = read_file(results.path() / "steady_pair.json");
  ASSERT_TRUE(text.ok()) << r.out << r.err;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["verdict"], "PASS");
  EXPECT_EQ(j["topology"], "1n2l2c1t");
  // Both cgroups ran, two workers each, and every worker did work.
  std::map<std::string, int> workers;
  for (auto& rep : j["run"]["reports"]) {
    workers[rep["cgroup"].get<std::string>()]++;
    EXPECT_GT(rep["work_units"].get<uint64_t>(), 0u) << rep.dump();
  }
  EXPECT_EQ(workers["a"], 2) << j["run"]["reports"].dump();
  EXPECT_EQ(workers["b"], 2) << j["run"]["reports"].dump();
  EXPECT_EQ(box.leftovers(), "");
}

TEST(TestApi, FrozenWorkerFailsTheGapCheck) {
  Sandbox box;
  auto r = box.run(KTSTR_PROBE_BIN, {"--run", "frozen_worker"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(line_starting(r.out, "FAIL frozen_worker ("), "") << r.out;
  EXPECT_NE(r.out.find("cg_1: worker 1 stuck"), std::string::npos) << r.out;
  EXPECT_EQ(box.leftovers(), "");
}

TEST(TestApi, ProblemsInTheBodyAreFailuresAndSkips) {
  Sandbox box;
  auto r = box.run(KTSTR_PROBE_BIN, {"--run", "bad_cpuset", "--run", "bad_policy", "--run",
                                     "needs_numa", "--run", "throws"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  auto bad_cpuset = line_starting(r.out, "FAIL bad_cpuset (");
  EXPECT_NE(bad_cpuset.find("llc 9"), std::string::npos) << r.out;
  auto bad_policy = line_starting(r.out, "FAIL bad_policy (");
  EXPECT_NE(bad_policy.find("cgroup 'a': policy:"), std::string::npos) << r.out;
  auto skip = line_starting(r.out, "SKIP needs_numa (");
  EXPECT_NE(skip.find("NUMA"), std::string::npos) << r.out;
  auto threw = line_starting(r.out, "FAIL throws (");
  EXPECT_NE(threw.find("the test body threw: probe exception"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 passed, 3 failed, 1 skipped"), std::string::npos) << r.out;
  EXPECT_EQ(box.leftovers(), "");
}

// Snapshot ops in a C++ test reach the host, which freezes the VM and
// judges the test's asserts on the snapshots.
TEST(TestApi, SnapshotsAndAssertsWorkFromCpp) {
  Sandbox box;
  TempDir results = TempDir::create("ktstr-testapi-out-").value();
  auto r = box.run(KTSTR_EXAMPLE_BIN, {"--run", "snapshot_pair", "--out", results.path().string()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  auto text = read_file(results.path() / "snapshot_pair.json");
  ASSERT_TRUE(text.ok()) << r.out << r.err;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["verdict"], "PASS") << j["reason"] << "\n" << j["details"];
  ASSERT_EQ(j["monitor"]["snapshots"].size(), 2u) << j["monitor"]["notes"];
  EXPECT_EQ(j["monitor"]["snapshots"][0]["name"], "first");
  ASSERT_EQ(j["assertions"].size(), 2u);
  for (auto& a : j["assertions"]) EXPECT_TRUE(a["passed"].get<bool>()) << a["message"];
  EXPECT_EQ(box.leftovers(), "");
}

// `make` builds the sched_ext schedulers into bin/schedulers, beside the
// example (when it can: offline or without clang they are missing).
TEST(TestApi, ExamplePassesUnderScxSimple) {
  auto dir = std::filesystem::path(KTSTR_EXAMPLE_BIN).parent_path() / "schedulers";
  if (::access((dir / "scx_simple").c_str(), X_OK) != 0) {
    auto why = read_file(dir / "schedulers.info");
    GTEST_SKIP() << "scx_simple was not built (" << (why.ok() ? *why : "no schedulers.info") << ")";
  }
  Sandbox box;
  TempDir results = TempDir::create("ktstr-testapi-out-").value();
  auto r = box.run(KTSTR_EXAMPLE_BIN, {"--run", "cpuset_swap", "--scheduler", "scx_simple", "--out",
                                       results.path().string()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(line_starting(r.out, "PASS cpuset_swap (scx_simple, "), "") << r.out;
  auto text = read_file(results.path() / "cpuset_swap.scx_simple.json");
  ASSERT_TRUE(text.ok()) << r.out << r.err;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["verdict"], "PASS") << j["reason"];
  EXPECT_EQ(j["scheduler"], "scx_simple");
  EXPECT_EQ(j["scheduler_report"]["attached"], true) << j["scheduler_report"].dump();
  EXPECT_EQ(j["scheduler_report"].value("death", nlohmann::json()), nlohmann::json());
  EXPECT_EQ(box.leftovers(), "");
}

TEST(TestApi, UnknownSchedulerIsABadArgument) {
  Sandbox box;
  auto r = box.run(KTSTR_EXAMPLE_BIN, {"--run", "steady_pair", "--scheduler", "scx_nonexistent"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--scheduler"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace ktstr
