#include "topology/cpuset.h"

#include <gtest/gtest.h>

#include <vector>

#include "test_util.h"

namespace ktstr::topo {
namespace {

using testing::expect_error;
using V = std::vector<uint32_t>;

TEST(CpuSet, AddRemoveContainsCount) {
  CpuSet s;
  EXPECT_TRUE(s.empty());
  s.add(3);
  s.add(70);
  s.add(3);
  EXPECT_EQ(s.count(), 2u);
  EXPECT_TRUE(s.contains(3));
  EXPECT_TRUE(s.contains(70));
  EXPECT_FALSE(s.contains(4));
  EXPECT_FALSE(s.contains(100000));
  s.remove(70);
  s.remove(999);  // absent: no-op
  EXPECT_EQ(s, CpuSet{3});
  s.remove(3);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s, CpuSet{});
}

TEST(CpuSet, IgnoresIdsAboveMax) {
  CpuSet s;
  s.add(CpuSet::kMaxCpus);
  EXPECT_TRUE(s.empty());
  s.add(CpuSet::kMaxCpus - 1);
  EXPECT_EQ(s.to_vector(), V{4095});
}

TEST(CpuSet, IteratesSortedAcrossWords) {
  CpuSet s{200, 0, 63, 64, 1, 4095};
  EXPECT_EQ(s.to_vector(), (V{0, 1, 63, 64, 200, 4095}));
  V seen;
  for (uint32_t c : s) seen.push_back(c);
  EXPECT_EQ(seen, s.to_vector());
  EXPECT_EQ(s.first(), 0u);
  EXPECT_EQ(s.last(), 4095u);
  EXPECT_FALSE(CpuSet{}.first().has_value());
  EXPECT_FALSE(CpuSet{}.last().has_value());
  EXPECT_EQ(CpuSet{}.begin(), CpuSet{}.end());
}

TEST(CpuSet, Range) {
  EXPECT_EQ(CpuSet::range(2, 5), (CpuSet{2, 3, 4, 5}));
  EXPECT_EQ(CpuSet::range(5, 5), CpuSet{5});
  EXPECT_TRUE(CpuSet::range(5, 4).empty());
}

TEST(CpuSet, SetAlgebra) {
  CpuSet a = CpuSet::range(0, 7), b = CpuSet::range(4, 130);
  EXPECT_EQ(a | b, CpuSet::range(0, 130));
  EXPECT_EQ(a & b, CpuSet::range(4, 7));
  EXPECT_EQ(a - b, CpuSet::range(0, 3));
  EXPECT_EQ(b - a, CpuSet::range(8, 130));
  EXPECT_TRUE((a & CpuSet{100}).empty());
  // Equality is structural even after shrinking ops.
  EXPECT_EQ(b - CpuSet::range(0, 200), CpuSet{});
  EXPECT_EQ((b & a).count(), 4u);
  EXPECT_TRUE(CpuSet::range(4, 7).is_subset_of(a));
  EXPECT_FALSE(b.is_subset_of(a));
  EXPECT_TRUE(CpuSet{}.is_subset_of(a));
  EXPECT_TRUE(a.intersects(b));
  EXPECT_FALSE(a.intersects(CpuSet{200}));
  EXPECT_NE(a, b);
}

TEST(CpuSet, ToList) {
  EXPECT_EQ(CpuSet{}.to_list(), "");
  EXPECT_EQ(CpuSet{5}.to_list(), "5");
  EXPECT_EQ((CpuSet{0, 1, 2, 3, 8}).to_list(), "0-3,8");
  EXPECT_EQ((CpuSet{0, 1}).to_list(), "0-1");
  EXPECT_EQ((CpuSet{1, 3, 5}).to_list(), "1,3,5");
  EXPECT_EQ((CpuSet::range(60, 70) | CpuSet{4095}).to_list(), "60-70,4095");
}

TEST(CpuSet, ParseKernelForms) {
  auto p = [](std::string_view s) {
    auto r = CpuSet::parse_list(s);
    EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().message());
    return r.ok() ? r->to_vector() : V{};
  };
  EXPECT_EQ(p("0-3,8"), (V{0, 1, 2, 3, 8}));
  EXPECT_EQ(p("5"), V{5});
  EXPECT_EQ(p(""), V{});
  EXPECT_EQ(p("\n"), V{});
  EXPECT_EQ(p("0-1\n"), (V{0, 1}));
  EXPECT_EQ(p("  2 , 4 - 5 \n"), (V{2, 4, 5}));
  EXPECT_EQ(p("8,0-1"), (V{0, 1, 8}));  // unsorted input is fine
  EXPECT_EQ(p("0-7:2"), (V{0, 2, 4, 6}));
  EXPECT_EQ(p("0-15:2/8"), (V{0, 1, 8, 9}));
  EXPECT_EQ(p("4095"), V{4095});
}

TEST(CpuSet, RoundTrip) {
  for (std::string_view s : {"", "0", "0-3,8", "1,3,5-9,64-127,4000"}) {
    auto r = CpuSet::parse_list(s);
    ASSERT_TRUE(r.ok()) << s;
    EXPECT_EQ(r->to_list(), s);
  }
  CpuSet big;
  for (uint32_t c = 0; c < 300; c += 3) big.add(c);
  auto r = CpuSet::parse_list(big.to_list());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, big);
}

TEST(CpuSet, ParseErrors) {
  EXPECT_EQ(expect_error(CpuSet::parse_list("3-1"), "range end 1 is below start 3"),
            "cpu list '3-1': range end 1 is below start 3");
  expect_error(CpuSet::parse_list("x"), "'x' is not a CPU number");
  expect_error(CpuSet::parse_list("1,,2"), "empty entry");
  expect_error(CpuSet::parse_list("1,"), "empty entry");
  expect_error(CpuSet::parse_list("-3"), "is not a CPU number");
  expect_error(CpuSet::parse_list("1-"), "is not a CPU number");
  expect_error(CpuSet::parse_list("1-2-3"), "is not a CPU number");
  expect_error(CpuSet::parse_list("4096"), "exceeds the maximum id 4095");
  expect_error(CpuSet::parse_list("99999999999999999999999"), "is not a CPU number");
  expect_error(CpuSet::parse_list("0-7:0"), "bad stride");
  expect_error(CpuSet::parse_list("0-7:x"), "bad stride");
  expect_error(CpuSet::parse_list("0-7:4/2"), "used count 4 exceeds the group size 2");
  expect_error(CpuSet::parse_list("3:2"), "needs a range");
  // Newlines inside the text never break the one-line rule.
  expect_error(CpuSet::parse_list("1,\nx\n"), "is not a CPU number");
}

}  // namespace
}  // namespace ktstr::topo
