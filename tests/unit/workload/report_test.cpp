#include "workload/report.h"

#include <gtest/gtest.h>

namespace ktstr::workload {
namespace {

WorkerReport full_report() {
  WorkerReport r;
  r.cgroup = "cg_0";
  r.index = 3;
  r.pid = 4242;
  r.work_type = "futex-ping-pong";
  r.group = 1;
  r.role = "pong";
  r.work_units = 123456789012ULL;
  r.iterations = 99;
  r.cpu_time_ns = 1'000'000;
  r.wall_time_ns = 4'000'000;
  r.off_cpu_pct = 75.0;
  r.max_gap_ns = 3'000'000'000ULL;
  r.max_gap_cpu = 1;
  r.max_gap_at_ns = 17;
  r.migrations = 5;
  r.cpus_used = {0, 1, 7};
  r.wake_latency_ns = {1, 2, 18446744073709551615ULL};
  r.wake_samples_seen = 250'000;
  r.schedstat_run_ns = 11;
  r.schedstat_wait_ns = 22;
  r.schedstat_timeslices = 33;
  r.numa_pages = {{0, 100}, {3, 7}};
  r.error = "";
  r.notes = {"nice-sweep: something"};
  return r;
}

void expect_equal(const WorkerReport& a, const WorkerReport& b) {
  EXPECT_EQ(a.cgroup, b.cgroup);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.work_type, b.work_type);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.role, b.role);
  EXPECT_EQ(a.work_units, b.work_units);
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_EQ(a.cpu_time_ns, b.cpu_time_ns);
  EXPECT_EQ(a.wall_time_ns, b.wall_time_ns);
  EXPECT_DOUBLE_EQ(a.off_cpu_pct, b.off_cpu_pct);
  EXPECT_EQ(a.max_gap_ns, b.max_gap_ns);
  EXPECT_EQ(a.max_gap_cpu, b.max_gap_cpu);
  EXPECT_EQ(a.max_gap_at_ns, b.max_gap_at_ns);
  EXPECT_EQ(a.migrations, b.migrations);
  EXPECT_EQ(a.cpus_used, b.cpus_used);
  EXPECT_EQ(a.wake_latency_ns, b.wake_latency_ns);
  EXPECT_EQ(a.wake_samples_seen, b.wake_samples_seen);
  EXPECT_EQ(a.schedstat_run_ns, b.schedstat_run_ns);
  EXPECT_EQ(a.schedstat_wait_ns, b.schedstat_wait_ns);
  EXPECT_EQ(a.schedstat_timeslices, b.schedstat_timeslices);
  EXPECT_EQ(a.numa_pages, b.numa_pages);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.notes, b.notes);
}

TEST(Report, JsonRoundTrip) {
  const WorkerReport r = full_report();
  expect_equal(report_from_json(to_json(r)), r);
  auto text = to_json(r).dump();
  auto parsed = parse_report(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  expect_equal(*parsed, r);
}

TEST(Report, DefaultRoundTripAndErrorField) {
  WorkerReport r;
  r.error = "killed by signal 9 (SIGKILL) without a report";
  r.max_gap_cpu = -1;
  expect_equal(report_from_json(to_json(r)), r);
}

TEST(Report, MissingFieldsKeepDefaults) {
  auto r = report_from_json(nlohmann::json{{"work_units", 5}, {"cgroup", "a"}});
  EXPECT_EQ(r.work_units, 5u);
  EXPECT_EQ(r.cgroup, "a");
  EXPECT_EQ(r.iterations, 0u);
  EXPECT_EQ(r.max_gap_cpu, -1);
  EXPECT_TRUE(r.cpus_used.empty());
}

TEST(Report, MistypedFieldsKeepDefaultsWithoutThrowing) {
  nlohmann::json j = to_json(full_report());
  j["work_units"] = "lots";
  j["iterations"] = -3;
  j["cpus_used"] = {0, "x"};
  j["numa_pages"] = {{"zero", 1}};
  j["pid"] = 1e12;
  j["index"] = 5'000'000'000ULL;  // does not fit uint32
  j["notes"] = 7;
  WorkerReport r = report_from_json(j);
  EXPECT_EQ(r.work_units, 0u);
  EXPECT_EQ(r.iterations, 0u);
  EXPECT_TRUE(r.cpus_used.empty());
  EXPECT_TRUE(r.numa_pages.empty());
  EXPECT_EQ(r.pid, 0);
  EXPECT_EQ(r.index, 0u);
  EXPECT_TRUE(r.notes.empty());
  EXPECT_EQ(r.migrations, 5u);  // untouched fields still parse
  EXPECT_EQ(report_from_json(nlohmann::json::array()).work_units, 0u);
}

TEST(Report, ParseRejectsNonObjects) {
  EXPECT_FALSE(parse_report("").ok());
  EXPECT_FALSE(parse_report("{\"work_units\": ").ok());
  EXPECT_FALSE(parse_report("[1,2]").ok());
  auto bad = parse_report("not json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::kProtocol);
  EXPECT_TRUE(parse_report("{}").ok());
}

}  // namespace
}  // namespace ktstr::workload
