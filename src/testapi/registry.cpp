#include "testapi/registry.h"

#include <set>

#include "check/thresholds.h"
#include "topology/topology.h"

namespace ktstr {

namespace {

// A function-local static: registrars run during static initialization, in
// no particular order across files.
std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

constexpr size_t kMaxNameLength = 64;
constexpr uint32_t kMaxDurationS = 3600;
constexpr size_t kMaxDescription = 200;  // the scenario model's limit

bool valid_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

std::string problem(const TestCase& t) {
  if (t.name.empty()) return "the name is empty; name it like steady_pair";
  for (char c : t.name)
    if (!valid_name_char(c))
      return "the name may only use letters, digits and '_' (it becomes a ctest name and a "
             "cgroup-safe scenario name)";
  if (t.name.size() > kMaxNameLength) return "the name is longer than 64 characters; shorten it";
  if (!t.fn) return "has no body";
  const auto& o = t.options;
  if (!o.topology) return ".topology is null; use e.g. \"1n2l2c1t\"";
  if (auto topo = topo::Topology::parse(o.topology); !topo.ok())
    return ".topology: " + topo.error().message();
  if (o.duration_s < 1 || o.duration_s > kMaxDurationS)
    return ".duration_s is " + std::to_string(o.duration_s) + "; use 1 to 3600 seconds";
  if (!o.description || !*o.description)
    return ".description is empty; say in one line what the test checks";
  if (std::string_view(o.description).find('\n') != std::string_view::npos)
    return ".description has a line break; keep it to one line";
  if (std::string_view(o.description).size() > kMaxDescription)
    return ".description is longer than 200 characters; shorten it";
  if (auto th = check::parse_thresholds(o.thresholds, check::Origin::kScenario); !th.ok())
    return ".thresholds: " + th.error().message();
  return "";
}

}  // namespace

const std::vector<TestCase>& all_tests() { return registry(); }

const TestCase* find_test(std::string_view name) {
  for (const auto& t : registry())
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<std::string> validate_tests(const std::vector<TestCase>& tests) {
  std::vector<std::string> errors;
  std::set<std::string> seen;
  for (const auto& t : tests) {
    std::string where = t.file + ":" + std::to_string(t.line) + ": test '" + t.name + "': ";
    if (auto p = problem(t); !p.empty())
      errors.push_back(where + p);
    else if (!seen.insert(t.name).second)
      errors.push_back(where + "another test has this name; test names must be unique in a binary");
  }
  return errors;
}

namespace detail {

bool register_test(const char* name, TestOptions options, TestFn fn, const char* file, int line) {
  registry().push_back({name ? name : "", std::move(options), fn, file ? file : "?", line});
  return true;
}

}  // namespace detail

}  // namespace ktstr
