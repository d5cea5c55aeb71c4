#include "scheduler/toml_parser.h"

#include <algorithm>
#include <map>
#include <set>

#include <toml++/toml.h>

#include "scheduler/detail/validate.h"
#include "util/files.h"

namespace ktstr::scheduler {

namespace {

struct Where {
  uint32_t line = 0, col = 0;
};

Where where(const toml::node& n) { return {n.source().begin.line, n.source().begin.column}; }
Where where(const toml::key& k) { return {k.source().begin.line, k.source().begin.column}; }

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date/time";
  }
}

// All errors of one file, "FILE:LINE:COL: field 'F': WHAT", in file order.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(Where at, std::string_view field, std::string_view what) {
    std::string text = file_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.col) + ": ";
    if (!field.empty()) text += "field '" + std::string(field) + "': ";
    lines_.push_back({at, text + std::string(what)});
  }
  bool empty() const { return lines_.empty(); }
  std::string joined() {
    std::stable_sort(lines_.begin(), lines_.end(), [](const Line& a, const Line& b) {
      return a.at.line != b.at.line ? a.at.line < b.at.line : a.at.col < b.at.col;
    });
    std::string out;
    for (const auto& l : lines_) out += (out.empty() ? "" : "\n") + l.text;
    return out;
  }

 private:
  struct Line {
    Where at;
    std::string text;
  };
  std::string file_;
  std::vector<Line> lines_;
};

std::string join_path(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : std::string(base) + "." + std::string(key);
}
std::string index_path(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

// What the reader learnt about a definition's fields (paths relative to the
// definition), so semantic problems can be placed, or dropped when the field
// already had a type error.
struct Fields {
  std::map<std::string, Where> at;
  std::set<std::string> unreadable;
};

// Typed, strict access to one table; `finish` reports keys nobody asked for.
class Reader {
 public:
  Reader(Diagnostics& d, const toml::table& t, std::string prefix, std::string path, Fields& fields)
      : d_(d), t_(t), prefix_(std::move(prefix)), path_(std::move(path)), fields_(fields) {
    fields_.at[path_] = where(t_);
  }

  const toml::node* get(std::string_view key) {
    known_.emplace_back(key);
    const toml::node* n = t_.get(key);
    if (n) fields_.at[join_path(path_, key)] = where(*n);
    return n;
  }
  void error(Where at, std::string_view rel_field, std::string_view what) {
    d_.error(at, join_path(prefix_, rel_field), what);
  }
  void type_error(const toml::node& n, std::string_view key, std::string_view want) {
    bad(join_path(path_, key));
    error(where(n), join_path(path_, key),
          "is " + std::string(type_name(n)) + "; write " + std::string(want));
  }
  void bad(const std::string& field) { fields_.unreadable.insert(field); }

  std::optional<std::string> string(std::string_view key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) {
      type_error(*n, key, "a string");
      return std::nullopt;
    }
    return n->as_string()->get();
  }
  std::optional<bool> boolean(std::string_view key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) {
      type_error(*n, key, "true or false");
      return std::nullopt;
    }
    return n->as_boolean()->get();
  }
  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    const toml::node* n = get(key);
    if (!n) return out;
    const auto* arr = n->as_array();
    if (!arr) {
      type_error(*n, key, "an array of strings, e.g. [\"-f\"]");
      return out;
    }
    for (size_t i = 0; i < arr->size(); ++i) {
      const toml::node& e = *arr->get(i);
      const std::string field = index_path(join_path(path_, key), i);
      fields_.at[field] = where(e);
      if (!e.is_string()) {
        bad(field);
        error(where(e), field, "is " + std::string(type_name(e)) + "; write a string");
        continue;
      }
      out.push_back(e.as_string()->get());
    }
    return out;
  }
  void finish() {
    for (auto&& [k, v] : t_) {
      if (std::find(known_.begin(), known_.end(), k.str()) != known_.end()) continue;
      std::string near = detail::closest(k.str(), known_);
      std::string all;
      for (const auto& x : known_) all += (all.empty() ? "" : ", ") + x;
      error(where(k), join_path(path_, k.str()),
            "unknown key; " + (near.empty() ? std::string() : "did you mean '" + near + "'? ") +
                "known: " + all);
    }
  }
  Where at() const { return where(t_); }
  const std::string& path() const { return path_; }
  Diagnostics& diags() { return d_; }
  const std::string& prefix() const { return prefix_; }
  Fields& fields() { return fields_; }

 private:
  Diagnostics& d_;
  const toml::table& t_;
  std::string prefix_;  // "scheduler[2]" in a multi-definition file, else ""
  std::string path_;    // relative to the definition
  Fields& fields_;
  std::vector<std::string> known_;
};

std::map<std::string, double> read_thresholds(Reader& r) {
  std::map<std::string, double> out;
  const toml::node* n = r.get("thresholds");
  if (!n) return out;
  const auto* t = n->as_table();
  if (!t) {
    r.type_error(*n, "thresholds", "a table: [thresholds] with check = value lines");
    return out;
  }
  for (auto&& [k, v] : *t) {
    const std::string field = join_path("thresholds", k.str());
    r.fields().at[field] = where(v);
    if (v.is_integer()) {
      out[std::string(k.str())] = static_cast<double>(v.as_integer()->get());
    } else if (v.is_floating_point()) {
      out[std::string(k.str())] = v.as_floating_point()->get();
    } else if (v.is_boolean()) {
      out[std::string(k.str())] = v.as_boolean()->get() ? 1.0 : 0.0;
    } else {
      r.error(where(v), field,
              "is " + std::string(type_name(v)) + "; write a number (or true/false for on/off checks)");
    }
  }
  return out;
}

std::vector<Flag> read_flags(Reader& r) {
  std::vector<Flag> out;
  const toml::node* n = r.get("flag");
  if (!n) return out;
  const auto* arr = n->as_array();
  if (!arr) {
    r.type_error(*n, "flag", "[[flag]] tables, one per flag");
    return out;
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string path = index_path("flag", i);
    const toml::node& e = *arr->get(i);
    const auto* t = e.as_table();
    if (!t) {
      r.error(where(e), path, "is " + std::string(type_name(e)) + "; write a [[flag]] table");
      continue;
    }
    Reader fr(r.diags(), *t, r.prefix(), path, r.fields());
    Flag f;
    if (auto s = fr.string("name")) f.name = *s;
    else if (!t->get("name")) fr.error(fr.at(), path, "has no name; add name = \"fifo\"");
    f.args = fr.strings("args");
    f.requires_ = fr.strings("requires");
    f.excludes = fr.strings("excludes");
    if (auto s = fr.string("description")) f.description = *s;
    fr.finish();
    out.push_back(std::move(f));
  }
  return out;
}

// `field`, then its parents: "flag[1].requires[0]", "flag[1].requires", "flag[1]", "flag".
std::vector<std::string> self_and_parents(std::string field) {
  std::vector<std::string> out;
  while (!field.empty()) {
    out.push_back(field);
    auto cut = field.find_last_of(".[");
    if (cut == std::string::npos) break;
    field.resize(cut);
  }
  return out;
}

bool was_unreadable(const Fields& f, const std::string& field) {
  for (const auto& p : self_and_parents(field))
    if (f.unreadable.count(p)) return true;
  return false;
}

Where position_of(const Fields& f, const std::string& field, Where fallback) {
  for (const auto& p : self_and_parents(field))
    if (auto it = f.at.find(p); it != f.at.end()) return it->second;
  return fallback;
}

void read_definition(Diagnostics& d, const toml::table& t, const std::string& prefix,
                     std::vector<SchedulerDef>& out) {
  Fields fields;
  Reader r(d, t, prefix, "", fields);
  SchedulerDef def;
  const bool had_name = t.get("name") != nullptr;
  if (auto s = r.string("name")) def.name = *s;
  if (auto s = r.string("description")) def.description = *s;
  if (auto s = r.string("binary")) def.binary = *s;
  if (auto b = r.boolean("builtin_eevdf")) def.builtin_eevdf = *b;
  if (auto s = r.string("ops_name")) def.ops_name = *s;
  def.default_args = r.strings("default_args");
  if (auto s = r.string("default_topology")) def.default_topology = *s;
  if (auto s = r.string("watchdog_timeout_arg")) def.watchdog_timeout_arg = *s;
  def.thresholds = read_thresholds(r);
  def.flags = read_flags(r);
  r.finish();
  if (!had_name) {
    r.error(r.at(), "name", "is missing; add name = \"scx_foo\"");
  }
  for (const auto& p : detail::find_problems(def)) {
    if ((p.field == "name" && !had_name) || was_unreadable(fields, p.field)) continue;  // reported
    if (p.field == "description" && !t.get("description")) {
      r.error(r.at(), "description", "is missing; add description = \"...\" (one line)");
      continue;
    }
    r.error(position_of(fields, p.field, r.at()), p.field, p.what);
  }
  out.push_back(std::move(def));
}

}  // namespace

Result<std::vector<SchedulerDef>> parse_schedulers_text(std::string_view text,
                                                        std::string_view virtual_name) {
  Diagnostics d{std::string(virtual_name)};
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(virtual_name));
  } catch (const toml::parse_error& e) {
    d.error({e.source().begin.line, e.source().begin.column}, "",
            std::string(e.description()) + "; fix the TOML syntax");
    return invalid_argument(d.joined());
  }
  std::vector<SchedulerDef> out;
  if (const toml::node* many = root.get("scheduler")) {
    const auto* arr = many->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      d.error(where(*many), "scheduler", "is " + std::string(type_name(*many)) +
                                             "; write [[scheduler]] tables, one per scheduler");
    } else {
      for (auto&& [k, v] : root)
        if (k.str() != "scheduler")
          d.error(where(k), std::string(k.str()),
                  "top-level key in a file of [[scheduler]] tables; move it into one of them");
      for (size_t i = 0; i < arr->size(); ++i)
        read_definition(d, *arr->get(i)->as_table(), index_path("scheduler", i), out);
    }
  } else {
    read_definition(d, root, "", out);
  }
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < out.size(); ++i)
    if (!out[i].name.empty() && !seen.emplace(out[i].name, i).second)
      d.error(where(*root.get("scheduler")->as_array()->get(i)), index_path("scheduler", i) + ".name",
              "scheduler '" + out[i].name + "' is defined twice in this file; rename one");
  if (!d.empty()) return invalid_argument(d.joined());
  return out;
}

Result<std::vector<SchedulerDef>> parse_schedulers_file(const std::filesystem::path& path) {
  KTSTR_ASSIGN(std::string text, read_file(path), "reading scheduler definitions");
  return parse_schedulers_text(text, path.string());
}

}  // namespace ktstr::scheduler
