#include "topology/presets.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "test_util.h"

namespace ktstr::topo {
namespace {

using testing::expect_error;

TEST(Presets, ExactlyTheTwentyFourNamedPresets) {
  const std::vector<std::pair<std::string, std::string>> want = {
      {"tiny-1llc", "1n1l4c1t"},         {"tiny-2llc", "1n2l2c1t"},
      {"odd-3llc", "1n3l3c1t"},          {"odd-5llc", "1n5l3c1t"},
      {"odd-7llc", "1n7l2c1t"},          {"smt-2llc", "1n2l2c2t"},
      {"smt-3llc", "1n3l2c2t"},          {"medium-4llc", "1n4l4c2t"},
      {"medium-8llc", "1n8l4c2t"},       {"large-4llc", "1n4l16c2t"},
      {"large-8llc", "1n8l8c2t"},        {"near-max-llc", "1n15l8c2t"},
      {"max-cpu", "1n14l9c2t"},          {"medium-4llc-nosmt", "1n4l8c1t"},
      {"medium-8llc-nosmt", "1n8l8c1t"}, {"large-4llc-nosmt", "1n4l32c1t"},
      {"large-8llc-nosmt", "1n8l16c1t"}, {"near-max-llc-nosmt", "1n15l16c1t"},
      {"max-cpu-nosmt", "1n14l18c1t"},   {"numa2-4llc", "2n4l4c1t"},
      {"numa2-8llc", "2n8l8c2t"},        {"numa2-8llc-nosmt", "2n8l16c1t"},
      {"numa4-8llc", "4n8l4c1t"},        {"numa4-12llc", "4n12l8c2t"},
  };
  ASSERT_EQ(presets().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(presets()[i].name, want[i].first);
    EXPECT_EQ(presets()[i].spec, want[i].second);
  }
}

TEST(Presets, AllParseValidateAndRoundTrip) {
  std::set<std::string_view> names;
  for (const Preset& p : presets()) {
    EXPECT_TRUE(names.insert(p.name).second) << "duplicate " << p.name;
    EXPECT_FALSE(p.description.empty()) << p.name;
    auto t = preset(p.name);
    ASSERT_TRUE(t.ok()) << p.name << ": " << t.error().message();
    EXPECT_TRUE(t->validate().ok()) << p.name;
    EXPECT_EQ(t->to_string(), p.spec);
    EXPECT_LE(t->num_cpus(), kMaxVmCpus) << p.name;
    EXPECT_EQ(find_preset(p.name), &p);
  }
}

TEST(Presets, Shapes) {
  auto max = preset("max-cpu");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->num_cpus(), 252u);
  auto max_nosmt = preset("max-cpu-nosmt");
  ASSERT_TRUE(max_nosmt.ok());
  EXPECT_EQ(max_nosmt->num_cpus(), 252u);
  auto numa = preset("numa4-12llc");
  ASSERT_TRUE(numa.ok());
  EXPECT_EQ(numa->num_cpus(), 192u);
  EXPECT_EQ(numa->numa_nodes, 4u);
  EXPECT_EQ(numa->llcs, 12u);
}

TEST(Presets, UnknownNameListsValidOnes) {
  std::string msg = expect_error(preset("nope"), "unknown topology preset 'nope'");
  EXPECT_NE(msg.find("tiny-1llc"), std::string::npos) << msg;
  EXPECT_NE(msg.find("see `ktstr topo --preset all`"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
  msg = expect_error(preset("medum-4llc"), "did you mean 'medium-4llc'?");
  EXPECT_EQ(find_preset("nope"), nullptr);
  expect_error(preset(""), "unknown topology preset ''");
}

}  // namespace
}  // namespace ktstr::topo
