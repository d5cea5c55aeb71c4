// Percentiles, coefficients of variation and number formatting behind the
// checks.
#include "check/detail/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "check/detail/num.h"
#include "check/detail/table.h"

namespace ktstr::check::detail {
namespace {

TEST(Percentile, NearestRankIsAnObservedSample) {
  std::vector<uint64_t> v;
  for (uint64_t i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  EXPECT_EQ(percentile(v, 99), 99u);
  EXPECT_EQ(percentile(v, 50), 50u);
  EXPECT_EQ(percentile(v, 100), 100u);
  EXPECT_EQ(percentile(v, 1), 1u);
  EXPECT_EQ(v.front(), 100u);  // works on a copy
  EXPECT_EQ(percentile({}, 99), 0u);
  EXPECT_EQ(percentile({7}, 99), 7u);
  EXPECT_EQ(percentile({1, 2}, 99), 2u);  // rank ceil(1.98) = 2
  // 1000 samples: p99 is the 990th smallest.
  std::vector<uint64_t> k;
  for (uint64_t i = 1; i <= 1000; ++i) k.push_back(i);
  EXPECT_EQ(percentile(k, 99), 990u);
}

TEST(Cv, PopulationStddevOverMean) {
  EXPECT_DOUBLE_EQ(cv({100, 300}), 0.5);
  EXPECT_EQ(cv({5, 5, 5}), 0);
  EXPECT_EQ(cv({5}), 0);
  EXPECT_EQ(cv({}), 0);
  EXPECT_EQ(cv({0, 0}), 0);  // zero mean
  EXPECT_EQ(mean({}), 0);
  EXPECT_DOUBLE_EQ(mean({1, 2, 3}), 2);
}

TEST(SatAdd, Saturates) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(sat_add(1, 2), 3u);
  EXPECT_EQ(sat_add(kMax, 1), kMax);
  EXPECT_EQ(sat_add(kMax - 1, 1), kMax);
}

TEST(Num, ShortNumbers) {
  EXPECT_EQ(num(2000), "2000");
  EXPECT_EQ(num(2.5), "2.5");
  EXPECT_EQ(num(1.0 / 3), "0.333");
  EXPECT_EQ(num(3500.44, 1), "3500.4");
  EXPECT_EQ(num(-0.0001), "0");
  EXPECT_EQ(num(std::nan("")), "n/a");
  EXPECT_EQ(num(INFINITY), "inf");
  EXPECT_EQ(fixed(12, 1), "12.0");
  EXPECT_EQ(fixed(NAN, 1), "n/a");
  EXPECT_EQ(one_line("a\nb\tc\n"), "a b c");
  EXPECT_EQ(one_line("abcdef", 3), "abc...");
}

TEST(Table, AlignsColumnsByDisplayWidth) {
  EXPECT_EQ(render_table({{"a", "bb", "c"}, {"xxx", "×", "7"}}, {false, false, true}, "> "),
            "> a    bb  c\n"
            "> xxx  ×   7\n");
}

TEST(Stats, WorstGapNamesWorkerCpuAndTime) {
  workload::WorkerReport a, b;
  a.cgroup = b.cgroup = "cg";
  a.index = 0;
  b.index = 1;
  a.max_gap_ns = 5'000'000;
  b.max_gap_ns = 7'000'000;
  b.max_gap_cpu = 3;
  b.max_gap_at_ns = 900'000'000;
  const std::vector<workload::WorkerReport> reports = {b, a};
  const auto groups = group_reports(reports);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].all[0]->index, 0u);  // index order
  const CgroupStats s = compute_stats(groups[0]);
  EXPECT_EQ(s.worst_gap_ms, 7);
  EXPECT_EQ(s.worst_gap_worker, 1);
  EXPECT_EQ(s.worst_gap_cpu, 3);
  EXPECT_EQ(s.worst_gap_at_ms, 900);
}

}  // namespace
}  // namespace ktstr::check::detail
