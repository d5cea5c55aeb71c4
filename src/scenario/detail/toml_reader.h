// Strict, diagnostics-collecting reading of toml++ tables for the scenario
// parser: typed getters that report wrong types and out-of-range values with
// FILE:LINE:COL and the field path, and an unknown-key check at the end of
// each table. Nothing here stops at the first error.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "scenario/detail/closest.h"
#include "util/result.h"

namespace ktstr::scenario::detail {

struct Where {
  uint32_t line = 0, col = 0;
};
Where where(const toml::node& n);
Where where(const toml::key& k);

// All errors of one file, formatted "FILE:LINE:COL: field 'PATH': WHAT".
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(Where at, std::string_view field, std::string_view what);
  void syntax_error(Where at, std::string_view what);
  bool empty() const { return lines_.empty(); }
  size_t count() const { return lines_.size(); }
  // One diagnostic per line, in file order (stable for equal positions).
  std::string joined() const;

 private:
  struct Line {
    Where at;
    std::string text;
  };
  std::string file_;
  std::vector<Line> lines_;
};

// "a.b" / "a[0]" field paths.
std::string join_path(std::string_view base, std::string_view key);
std::string index_path(std::string_view base, size_t i);
std::string_view type_name(const toml::node& n);

class TableReader {
 public:
  TableReader(Diagnostics& d, const toml::table& t, std::string path)
      : diags_(d), table_(t), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string field(std::string_view key) const { return join_path(path_, key); }
  Where where() const { return detail::where(table_); }
  Diagnostics& diags() { return diags_; }

  // Declares `key` as known and returns its node (nullptr when absent).
  const toml::node* get(std::string_view key);
  // Reports a missing required key at the table's position.
  void missing(std::string_view key, std::string_view hint);
  void error(std::string_view key, std::string_view what);  // at the key's value
  void error_at(const toml::node& n, std::string_view key, std::string_view what);

  // Typed getters: nullopt when absent (reported if `hint` is given for a
  // required key) or invalid (always reported).
  std::optional<std::string> string(std::string_view key, const char* required_hint = nullptr);
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max,
                                 const char* required_hint = nullptr);
  // An integer or a float.
  std::optional<double> number(std::string_view key, double min, double max,
                               const char* required_hint = nullptr);
  std::optional<bool> boolean(std::string_view key);
  // A string parsed by `parse`; its error message follows the field.
  template <typename T>
  std::optional<T> parsed(std::string_view key, const std::function<Result<T>(std::string_view)>& parse,
                          const char* required_hint = nullptr) {
    auto s = string(key, required_hint);
    if (!s) return std::nullopt;
    auto r = parse(*s);
    if (!r.ok()) {
      error(key, r.error().message());
      return std::nullopt;
    }
    return std::move(r).value();
  }

  // Reports every key that no getter asked for, suggesting the closest known one.
  void finish();

 private:
  Diagnostics& diags_;
  const toml::table& table_;
  std::string path_;
  std::vector<std::string> known_;
};

}  // namespace ktstr::scenario::detail
