// The shipped catalog: complete, valid, runnable on small topologies, and
// the same whether embedded or loaded from scenarios/.
#include "scenario/catalog.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "scenario/toml_parser.h"
#include "util/files.h"
#include "util/scope_guard.h"
#include "util/temp_dir.h"

namespace ktstr::scenario {
namespace {

std::vector<Scenario> catalog() {
  auto c = load_catalog();
  EXPECT_TRUE(c.ok()) << c.error().message();
  return c.ok() ? c.value() : std::vector<Scenario>{};
}

TEST(Catalog, HasAtLeastThirtyScenariosInEveryCategory) {
  auto all = catalog();
  EXPECT_GE(all.size(), 30u);
  std::set<Category> cats;
  for (const auto& s : all) cats.insert(s.category);
  EXPECT_EQ(cats.size(), all_categories().size());
}

TEST(Catalog, HasTheRequiredScenarios) {
  auto all = catalog();
  std::set<std::string> names;
  for (const auto& s : all) names.insert(s.name);
  for (const char* n : {"steady", "steady_llc", "oversubscribed", "cpuset_apply", "cpuset_clear",
                        "cpuset_resize", "cgroup_add", "cgroup_remove", "affinity_change",
                        "affinity_pinned", "host_contention", "mixed_workloads", "nested_steady",
                        "nested_task_move"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST(Catalog, DescriptionsAreOneNonEmptyLine) {
  for (const auto& s : catalog()) {
    EXPECT_FALSE(s.description.empty()) << s.name;
    EXPECT_EQ(s.description.find('\n'), std::string::npos) << s.name;
    EXPECT_LE(s.description.size(), 120u) << s.name;
  }
}

TEST(Catalog, ShortRunsForEmulatedCi) {
  for (const auto& s : catalog()) {
    EXPECT_GE(s.duration_ms, 3000u) << s.name;
    EXPECT_LE(s.duration_ms, 6000u) << s.name;
  }
}

TEST(Catalog, NeverUsesTestOnlyOps) {
  for (const auto& s : catalog())
    for (const auto& step : s.steps)
      for (const auto& op : step.ops)
        EXPECT_FALSE(std::holds_alternative<ops::FreezeWorker>(op)) << s.name;
}

TEST(Catalog, EmbeddedFilesAreNamedAfterTheirScenario) {
  auto files = embedded_catalog();
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    auto s = parse_scenario_text(f.text, f.file);
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_EQ(std::string(f.file), s->name + ".toml");
  }
  for (size_t i = 1; i < files.size(); ++i) EXPECT_LT(files[i - 1].file, files[i].file);
}

// Every scenario either runs on a topology or SKIPs there for a stated
// reason; it never fails on resolution.
TEST(Catalog, RunsOrSkipsOnSmallAndLargeTopologies) {
  size_t runnable_small = 0;
  auto all = catalog();
  for (const char* spec : {"1n1l1c1t", "1n1l2c1t", "1n2l2c1t", "1n2l2c2t", "2n4l2c2t"}) {
    auto topo = topo::Topology::parse(spec).value();
    for (const auto& s : all) {
      if (s.requirements.unmet_by(topo)) continue;
      auto ok = check_topology(s, topo);
      EXPECT_TRUE(ok.ok()) << spec << ": " << ok.error().message();
      if (std::string(spec) == "1n2l2c1t") ++runnable_small;
    }
  }
  // The CI topology (4 CPUs, 2 LLCs) runs most of the catalog.
  EXPECT_GE(runnable_small, all.size() - 4);
  auto big = topo::Topology::parse("2n4l2c2t").value();
  for (const auto& s : all) EXPECT_EQ(s.requirements.unmet_by(big), std::nullopt) << s.name;
}

TEST(Catalog, SourceDirectoryMatchesTheEmbeddedCatalog) {
  auto dir = default_catalog_dir();
  ASSERT_FALSE(dir.empty());
  auto from_files = load_catalog(dir);
  ASSERT_TRUE(from_files.ok()) << from_files.error().message();
  EXPECT_TRUE(*from_files == catalog());
}

TEST(Catalog, DefaultDirHonoursTheEnvironment) {
  const char* old = std::getenv("KTSTR_SCENARIO_DIR");
  std::string saved = old ? old : "";
  ScopeGuard restore([&] {
    if (old)
      setenv("KTSTR_SCENARIO_DIR", saved.c_str(), 1);
    else
      unsetenv("KTSTR_SCENARIO_DIR");
  });
  setenv("KTSTR_SCENARIO_DIR", "/some/where", 1);
  EXPECT_EQ(default_catalog_dir(), "/some/where");
}

TEST(Catalog, LoadsADirectoryAndReportsEveryBadFile) {
  auto dir = TempDir::create("ktstr-catalog-test").value();
  const std::string good =
      "name = \"good\"\ncategory = \"basic\"\ndescription = \"d\"\n[[backdrop]]\nname = \"a\"\n"
      "workers = 1\n";
  ASSERT_TRUE(write_file(dir.path() / "good.toml", good).ok());
  ASSERT_TRUE(write_file(dir.path() / "notes.txt", "ignored").ok());
  auto one = load_catalog(dir.path());
  ASSERT_TRUE(one.ok()) << one.error().message();
  ASSERT_EQ(one->size(), 1u);

  ASSERT_TRUE(write_file(dir.path() / "bad1.toml", "name = 1\n").ok());
  ASSERT_TRUE(write_file(dir.path() / "bad2.toml", "name = \n").ok());
  ASSERT_TRUE(write_file(dir.path() / "dup.toml", good).ok());
  auto r = load_catalog(dir.path());
  ASSERT_FALSE(r.ok());
  const std::string m = r.error().message();
  EXPECT_NE(m.find("bad1.toml:1:8: field 'name'"), std::string::npos) << m;
  EXPECT_NE(m.find("bad2.toml:1:"), std::string::npos) << m;
  EXPECT_NE(m.find("scenario 'good' is also defined in"), std::string::npos) << m;

  auto missing = load_catalog(dir.path() / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
}

TEST(Catalog, FindsByNameOrPath) {
  auto all = catalog();
  auto steady = find_scenario("steady", all);
  ASSERT_TRUE(steady.ok());
  EXPECT_EQ(steady->name, "steady");
  EXPECT_TRUE(find_scenario("cpuset_apply").ok());  // embedded catalog

  auto typo = find_scenario("stedy", all);
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().code(), Errc::kNotFound);
  EXPECT_NE(typo.error().message().find("did you mean 'steady'?"), std::string::npos);

  auto dir = TempDir::create("ktstr-find-test").value();
  auto path = dir.path() / "mine.toml";
  ASSERT_TRUE(write_file(path, "name = \"mine\"\ncategory = \"stress\"\ndescription = \"d\"\n"
                               "[[backdrop]]\nname = \"a\"\nworkers = 1\n")
                  .ok());
  auto mine = find_scenario(path.string(), all);
  ASSERT_TRUE(mine.ok()) << mine.error().message();
  EXPECT_EQ(mine->name, "mine");
  EXPECT_FALSE(find_scenario((dir.path() / "absent.toml").string()).ok());
}

TEST(Catalog, Filter) {
  auto all = catalog();
  auto cpuset = filter_catalog(all, "cpuset_");
  EXPECT_GE(cpuset.size(), 3u);
  for (const auto& s : cpuset) EXPECT_NE(s.name.find("cpuset_"), std::string::npos);
  EXPECT_EQ(filter_catalog(all, "").size(), all.size());
}

}  // namespace
}  // namespace ktstr::scenario
