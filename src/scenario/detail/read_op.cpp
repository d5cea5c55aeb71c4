// Reading step holds and ops from scenario files, with the static reference
// checks: every cgroup or payload an op names must exist at that point.
#include <cctype>
#include <algorithm>
#include <charconv>

#include "scenario/detail/parse_parts.h"

namespace ktstr::scenario::detail {

namespace {

constexpr int64_t kMaxMs = 3'600'000;  // an hour: far beyond any sensible step

// Ops that create or end something named cannot repeat every interval.
bool repeatable(const std::string& op) {
  return op != "add-cgroup" && op != "remove-cgroup" && op != "run-payload" &&
         op != "wait-payload" && op != "kill-payload" && op != "watch-snapshot";
}

class OpReader {
 public:
  OpReader(TableReader& r, ParseState& st) : r_(r), st_(st) {}

  // A live cgroup named by `key`; `leaf` also demands it can hold tasks.
  std::optional<std::string> cgroup(std::string_view key, bool leaf, const char* hint) {
    auto name = r_.string(key, hint);
    if (!name) return std::nullopt;
    auto it = st_.cgroups.find(*name);
    if (it == st_.cgroups.end()) {
      std::vector<std::string> live;
      for (const auto& [n, _] : st_.cgroups) live.push_back(n);
      std::string near = closest(*name, live);
      r_.error(key, "cgroup '" + *name + "' does not exist at this point; " +
                        (near.empty() ? std::string("add it with [[backdrop]] or add-cgroup first")
                                      : "did you mean '" + near + "'?"));
      return name;
    }
    if (leaf && it->second.has_children)
      r_.error(key, "cgroup '" + *name +
                        "' has children, and cgroup v2 keeps tasks in leaves only; name a child");
    return name;
  }

  LiveCgroup* live(const std::optional<std::string>& name) {
    if (!name) return nullptr;
    auto it = st_.cgroups.find(*name);
    return it == st_.cgroups.end() ? nullptr : &it->second;
  }

  std::optional<std::string> payload_name(std::string_view key, bool must_exist) {
    auto name = r_.string(key, "add name = \"payload_0\" (names the payload for later ops)");
    if (!name) return std::nullopt;
    if (auto s = check_name(*name, "payload name"); !s.ok()) {
      r_.error(key, s.error().message());
      return name;
    }
    if (must_exist && !st_.payloads_started.count(*name))
      r_.error(key, "payload '" + *name +
                        "' was never started at this point; start it with run-payload first");
    return name;
  }

  WorkerCount count(std::string_view key) {
    auto c = read_worker_count(r_, key, "add count = 2 (or \"cpus\" for one per CPU)");
    if (c && *c == WorkerCount::fixed(0)) r_.error(key, "is 0; spawn at least 1 worker");
    return c.value_or(WorkerCount::fixed(1));
  }

  TableReader& r() { return r_; }
  ParseState& st() { return st_; }

 private:
  TableReader& r_;
  ParseState& st_;
};

void add_workers(LiveCgroup* cg, const WorkerCount& c) {
  if (!cg) return;
  if (cg->workers && c.kind == WorkerCount::Kind::kFixed)
    *cg->workers += c.count;
  else
    cg->workers.reset();
}

constexpr int64_t kMaxPid = 4'194'304;  // PID_MAX_LIMIT
constexpr size_t kMaxSymbol = 512;      // KSYM_NAME_LEN
constexpr size_t kMaxFieldPath = 256;
constexpr size_t kMaxWatchSymbol = 64;  // the snapshot request's tag limit

// A kernel symbol name as /proc/kallsyms prints it ("foo", "foo.isra.0").
bool plausible_symbol(std::string_view s) {
  if (s.empty() || s.size() > kMaxSymbol) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '$';
    if (!ok) return false;
  }
  return true;
}

// A watch target: a symbol, optionally "+<bytes>" (decimal or 0x hex) to
// watch a field of a global ("jiffies+8"); the host resolves and checks it.
bool plausible_watch_target(std::string_view s) {
  const auto plus = s.find('+');
  if (plus == std::string_view::npos) return plausible_symbol(s);
  std::string_view off = s.substr(plus + 1);
  if (off.starts_with("0x")) off.remove_prefix(2);
  if (off.empty()) return false;
  for (char c : off)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return plausible_symbol(s.substr(0, plus));
}

// A C member path: "se.vruntime", "scx.dsq_vtime", "cpus[2].x".
bool plausible_field(std::string_view s) {
  if (s.empty() || s.size() > kMaxFieldPath || s.front() == '.' || s.back() == '.' ||
      s.find("..") != std::string_view::npos)
    return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

// A 64-bit unsigned value: a TOML integer >= 0, or a string in hex
// ("0xffffffff81000000": kernel addresses do not fit TOML's signed integers)
// or decimal.
std::optional<uint64_t> read_u64(TableReader& r, std::string_view key, const char* required_hint) {
  const toml::node* n = r.get(key);
  if (!n) {
    if (required_hint) r.missing(key, required_hint);
    return std::nullopt;
  }
  const std::string hint = "; write an integer >= 0 or a string such as \"0xffffffff81000000\"";
  if (const auto* i = n->as_integer()) {
    if (i->get() < 0) {
      r.error(key, "is negative" + hint);
      return std::nullopt;
    }
    return static_cast<uint64_t>(i->get());
  }
  const auto* str = n->as_string();
  if (!str) {
    r.error(key, "is " + std::string(type_name(*n)) + hint);
    return std::nullopt;
  }
  std::string_view text = str->get();
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    r.error(key, "'" + std::string(str->get()) + "' is not a 64-bit unsigned number" + hint);
    return std::nullopt;
  }
  return v;
}

// kernel-read / kernel-write: the target and the keys it needs (model.h,
// KernelOpSpec); keys another target uses are errors, not ignored.
KernelOpSpec read_kernel_op(OpReader& o, KernelOpSpec::Access access) {
  TableReader& r = o.r();
  using T = KernelOpSpec::Target;
  KernelOpSpec k;
  k.access = access;
  auto target = r.parsed<T>("target", &parse_kernel_target,
                            "add target = \"symbol\" (symbol, kva, percpu or task)");
  if (auto tag = r.string("tag", "add tag = \"nr_running\" (names the result in the report)")) {
    if (auto s = check_name(*tag, "tag"); !s.ok()) r.error("tag", s.error().message());
    k.tag = *tag;
  }
  const bool has_symbol = r.get("symbol"), has_field = r.get("field"),
             has_address = r.get("address"), has_cpu = r.get("cpu"), has_pid = r.get("pid");
  if (has_symbol)
    if (auto sym = r.string("symbol")) {
      if (!plausible_symbol(*sym))
        r.error("symbol", "'" + sym->substr(0, 40) + "' is not a kernel symbol name; use letters, "
                          "digits, '_', '.' (at most 512 characters)");
      k.symbol = *sym;
    }
  if (has_field)
    if (auto f = r.string("field")) {
      if (!plausible_field(*f))
        r.error("field", "'" + f->substr(0, 40) + "' is not a member path; write e.g. "
                         "\"se.vruntime\" (names, '.', [index])");
      k.field = *f;
    }
  if (has_address)
    if (auto a = read_u64(r, "address", nullptr)) {
      if (*a == 0) r.error("address", "is 0; name a kernel virtual address");
      k.address = *a;
    }
  if (has_cpu)
    if (auto c = r.integer("cpu", 0, topo::kMaxVmCpus - 1)) {
      k.cpu = static_cast<uint32_t>(*c);
      need(r, "cpu", o.st(), "cpu " + std::to_string(*c), k.cpu + 1, 0, 0);
    }
  if (has_pid)
    if (auto p = r.integer("pid", 1, kMaxPid)) k.pid = static_cast<uint32_t>(*p);
  if (auto w = r.integer("width", 1, 8)) {
    if (*w != 1 && *w != 2 && *w != 4 && *w != 8)
      r.error("width", std::to_string(*w) + " is not a width; use 1, 2, 4 or 8 (bytes)");
    else
      k.width = static_cast<uint8_t>(*w);
  }
  if (access == KernelOpSpec::Access::kWrite) {
    if (auto v = read_u64(r, "value", "add value = 1 (what to write)")) {
      k.value = *v;
      if (k.width < 8 && (*v >> (8 * k.width)) != 0)
        r.error("value", std::to_string(*v) + " does not fit in width = " +
                             std::to_string(k.width) + " bytes");
    }
  }
  if (!target) return k;
  k.target = *target;
  const std::string name(to_string(*target));
  auto require = [&](bool has, const char* key, const char* hint) {
    if (!has) r.missing(key, std::string(hint) + " (target '" + name + "' needs it)");
  };
  auto refuse = [&](bool has, const char* key, const char* takes) {
    if (has) r.error(key, "is not used by target '" + name + "'; it takes " + takes);
  };
  switch (*target) {
    case T::kSymbol:
      require(has_symbol, "symbol", "add symbol = \"nr_cpu_ids\"");
      refuse(has_address, "address", "symbol and an optional field");
      refuse(has_cpu, "cpu", "symbol and an optional field");
      refuse(has_pid, "pid", "symbol and an optional field");
      break;
    case T::kKva:
      require(has_address, "address", "add address = \"0xffffffff82000000\"");
      for (auto key : {"symbol", "field", "cpu", "pid"})
        refuse(r.get(key) != nullptr, key, "address");
      break;
    case T::kPercpu:
      require(has_symbol, "symbol", "add symbol = \"runqueues\" (a per-CPU variable)");
      require(has_field, "field", "add field = \"nr_running\"");
      require(has_cpu, "cpu", "add cpu = 0");
      refuse(has_address, "address", "symbol, field and cpu");
      refuse(has_pid, "pid", "symbol, field and cpu");
      break;
    case T::kTask:
      require(has_field, "field", "add field = \"se.vruntime\"");
      require(has_pid, "pid", "add pid = 1");
      refuse(has_symbol, "symbol", "field and pid");
      refuse(has_address, "address", "field and pid");
      refuse(has_cpu, "cpu", "field and pid");
      break;
  }
  return k;
}

// Reads the op-specific fields of `op` (already known to be a valid name).
Op read_fields(const std::string& op, OpReader& o, Diagnostics& d) {
  TableReader& r = o.r();
  ParseState& st = o.st();
  const char* kCgroup = "add cgroup = \"cg_0\" (the cgroup this op acts on)";

  if (op == "add-cgroup") {
    ops::AddCgroup add;
    const toml::node* n = r.get("cgroup");
    if (!n) {
      r.missing("cgroup", "add cgroup = { name = \"cg_1\", workers = 2 }");
    } else if (auto def = read_cgroup(d, *n, r.field("cgroup"), "", CgroupOrigin::kAdded, st)) {
      add.cgroup = std::move(*def);
    }
    return add;
  }
  if (op == "remove-cgroup") {
    ops::RemoveCgroup rm;
    auto name = o.cgroup("cgroup", false, kCgroup);
    if (auto* cg = o.live(name); cg && cg->backdrop) {
      r.error("cgroup", "cgroup '" + *name +
                            "' is part of the backdrop, which lives for the whole run; create it "
                            "with add-cgroup to remove it later");
    } else if (cg) {
      // Removing a cgroup removes its subtree.
      for (auto it = st.cgroups.begin(); it != st.cgroups.end();)
        it = (it->first == *name || it->first.rfind(*name + "/", 0) == 0) ? st.cgroups.erase(it)
                                                                            : std::next(it);
      // A parent whose last child went becomes a leaf again.
      if (auto slash = name->rfind('/'); slash != std::string::npos) {
        const std::string parent = name->substr(0, slash);
        bool still = std::any_of(st.cgroups.begin(), st.cgroups.end(), [&](const auto& kv) {
          return kv.first.rfind(parent + "/", 0) == 0;
        });
        if (auto p = st.cgroups.find(parent); p != st.cgroups.end()) p->second.has_children = still;
      }
    }
    rm.cgroup = name.value_or("");
    return rm;
  }
  if (op == "set-cpuset") {
    ops::SetCpuset set;
    set.cgroup = o.cgroup("cgroup", false, kCgroup).value_or("");
    if (auto c = r.parsed<topo::CpusetSpec>("cpuset", &topo::CpusetSpec::parse,
                                            "add cpuset = \"llc:0\" (see docs/scenarios.md)")) {
      need_cpuset(r, "cpuset", st, *c);
      set.cpuset = std::move(*c);
    }
    return set;
  }
  if (op == "clear-cpuset") return ops::ClearCpuset{o.cgroup("cgroup", false, kCgroup).value_or("")};
  if (op == "swap-cpusets") {
    ops::SwapCpusets swap;
    swap.a = o.cgroup("a", false, "add a = \"cg_0\" (one of the two cgroups)").value_or("");
    swap.b = o.cgroup("b", false, "add b = \"cg_1\" (the other cgroup)").value_or("");
    if (!swap.a.empty() && swap.a == swap.b)
      r.error("b", "names the same cgroup as a; swap two different cgroups");
    return swap;
  }
  if (op == "spawn") {
    ops::Spawn spawn;
    auto name = o.cgroup("cgroup", true, kCgroup);
    spawn.count = o.count("count");
    spawn.work = read_work(r, "work");
    add_workers(o.live(name), spawn.count);
    spawn.cgroup = name.value_or("");
    return spawn;
  }
  if (op == "stop-cgroup") {
    auto name = o.cgroup("cgroup", false, kCgroup);
    if (auto* cg = o.live(name)) cg->workers = 0;
    return ops::StopCgroup{name.value_or("")};
  }
  if (op == "set-affinity") {
    ops::SetAffinity set;
    set.cgroup = o.cgroup("cgroup", false, kCgroup).value_or("");
    if (auto a = r.parsed<Affinity>("affinity", &Affinity::parse,
                                    "add affinity = \"llc-aligned\" (see docs/scenarios.md)")) {
      need_affinity(r, "affinity", st, *a);
      set.affinity = std::move(*a);
    }
    return set;
  }
  if (op == "spawn-host") {
    ops::SpawnHost host;
    host.count = o.count("count");
    host.work = read_work(r, "work").value_or(workload::default_spec(workload::WorkType::kCpuSpin));
    st.runs_load = true;
    return host;
  }
  if (op == "move-all-tasks") {
    ops::MoveAllTasks mv;
    auto from = o.cgroup("from", true, "add from = \"cg_0\" (the cgroup whose tasks move)");
    auto to = o.cgroup("to", true, "add to = \"cg_1\" (where the tasks go)");
    if (from && to && *from == *to) r.error("to", "names the same cgroup as from; move between two");
    LiveCgroup* src = o.live(from);
    LiveCgroup* dst = o.live(to);
    if (src && dst && src != dst) {
      if (src->workers && dst->workers)
        *dst->workers += *src->workers;
      else
        dst->workers.reset();
      src->workers = 0;
    }
    mv.from = from.value_or("");
    mv.to = to.value_or("");
    return mv;
  }
  if (op == "run-payload") {
    ops::RunPayload run;
    auto name = o.payload_name("name", false);
    if (name && st.payloads_running.count(*name))
      r.error("name", "payload '" + *name + "' is still running at this point; use another name "
                      "or wait-payload / kill-payload it first");
    if (const toml::node* argv = r.get("argv")) {
      const auto* arr = argv->as_array();
      bool ok = arr && !arr->empty() && arr->is_homogeneous(toml::node_type::string);
      if (ok) {
        for (const auto& a : *arr) run.argv.push_back(a.as_string()->get());
        ok = !run.argv.front().empty();
      }
      if (!ok)
        r.error("argv", "must be a non-empty array of strings with the program first, e.g. "
                        "[\"/bin/sh\", \"-c\", \"stress\"]");
    } else {
      r.missing("argv", "add argv = [\"/path/to/program\", \"arg\"]");
    }
    if (r.get("cgroup")) run.cgroup = o.cgroup("cgroup", true, nullptr);
    if (name) {
      st.payloads_started.insert(*name);
      st.payloads_running.insert(*name);
    }
    st.runs_load = true;
    run.name = name.value_or("");
    return run;
  }
  if (op == "wait-payload" || op == "kill-payload") {
    auto name = o.payload_name("name", true);
    if (name) st.payloads_running.erase(*name);
    if (op == "kill-payload") return ops::KillPayload{name.value_or("")};
    ops::WaitPayload wait;
    wait.name = name.value_or("");
    if (auto t = r.integer("timeout_ms", 1, kMaxMs,
                           "add timeout_ms = 2000 (how long to wait before failing)"))
      wait.timeout_ms = static_cast<uint32_t>(*t);
    return wait;
  }
  if (op == "snapshot") {
    ops::Snapshot snap;
    if (auto name = r.string("name", "add name = \"before\" (labels the snapshot)")) {
      if (auto s = check_name(*name, "snapshot name"); !s.ok()) r.error("name", s.error().message());
      snap.name = *name;
    }
    return snap;
  }
  if (op == "watch-snapshot") {
    ops::WatchSnapshot watch;
    if (auto sym = r.string("symbol", "add symbol = \"scx_watchdog_timeout\" (the kernel "
                                      "variable to watch for writes)")) {
      if (!plausible_watch_target(*sym) || sym->size() > kMaxWatchSymbol)
        r.error("symbol", "'" + sym->substr(0, 40) + "' is not a kernel symbol name of at most " +
                              std::to_string(kMaxWatchSymbol) +
                              " characters (letters, digits, '_', '.'), optionally +offset");
      watch.symbol = *sym;
    }
    return watch;
  }
  if (op == "kernel-read") return ops::KernelRead{read_kernel_op(o, KernelOpSpec::Access::kRead)};
  if (op == "kernel-write") return ops::KernelWrite{read_kernel_op(o, KernelOpSpec::Access::kWrite)};
  // freeze-worker (test only)
  ops::FreezeWorker freeze;
  auto name = o.cgroup("cgroup", true, kCgroup);
  if (auto w = r.integer("worker", 0, 4095, "add worker = 0 (index of the worker to stop)")) {
    freeze.worker = static_cast<uint32_t>(*w);
    if (auto* cg = o.live(name); cg && cg->workers && *w >= static_cast<int64_t>(*cg->workers))
      r.error("worker", "cgroup '" + *name + "' has " + std::to_string(*cg->workers) +
                            " workers at this point; use an index below that");
  }
  if (auto ms = r.integer("duration_ms", 1, kMaxMs, "add duration_ms = 1500 (how long it stays stopped)"))
    freeze.duration_ms = static_cast<uint32_t>(*ms);
  freeze.cgroup = name.value_or("");
  return freeze;
}

}  // namespace

std::optional<Hold> read_hold(TableReader& step, std::string_view key) {
  const toml::node* n = step.get(key);
  constexpr const char* kHint =
      "add hold = { fraction = 0.5 } (a share of duration_s), { duration_ms = 500 }, or "
      "{ fraction = 0.5, every_ms = 200 } to repeat the ops";
  if (!n) {
    step.missing(key, kHint);
    return std::nullopt;
  }
  if (n->is_integer() || n->is_floating_point()) {  // shorthand: hold = 0.5
    auto f = step.number(key, 1e-6, 1.0);
    if (!f) return std::nullopt;
    return Hold::of_fraction(*f);
  }
  const auto* t = n->as_table();
  if (!t) {
    step.error(key, "is " + std::string(type_name(*n)) + "; " + kHint);
    return std::nullopt;
  }
  TableReader h(step.diags(), *t, step.field(key));
  auto fraction = h.number("fraction", 1e-6, 1.0);
  auto ms = h.integer("duration_ms", 1, kMaxMs);
  auto every = h.integer("every_ms", 1, kMaxMs);
  bool has_f = h.get("fraction"), has_ms = h.get("duration_ms");
  h.finish();
  if (has_f == has_ms) {
    step.error(key, has_f ? "sets both fraction and duration_ms; keep one"
                          : std::string("sets neither fraction nor duration_ms; ") + kHint);
    return std::nullopt;
  }
  if (!(fraction || ms) || (h.get("every_ms") && !every)) return std::nullopt;
  Hold hold = fraction ? Hold::of_fraction(*fraction) : Hold::of_duration_ms(static_cast<uint32_t>(*ms));
  if (every) {
    hold.kind = Hold::Kind::kLoop;
    hold.interval_ms = static_cast<uint32_t>(*every);
  }
  return hold;
}

std::optional<Op> read_op(Diagnostics& d, const toml::node& node, const std::string& path,
                          bool in_loop, ParseState& st) {
  const auto* t = node.as_table();
  if (!t) {
    d.error(where(node), path,
            "is " + std::string(type_name(node)) + "; write a table like { op = \"spawn\", "
            "cgroup = \"cg_0\", count = 2 }");
    return std::nullopt;
  }
  TableReader r(d, *t, path);
  std::string all;
  std::vector<std::string> names;
  for (auto n : op_names()) {
    all += (all.empty() ? "" : ", ") + std::string(n);
    names.emplace_back(n);
  }
  auto op = r.string("op", "add op = \"spawn\" (the kind of op)");
  if (!op) return std::nullopt;
  if (std::find(names.begin(), names.end(), *op) == names.end()) {
    std::string near = closest(*op, names);
    r.error("op", "'" + *op + "' is not an op; " +
                      (near.empty() ? "" : "did you mean '" + near + "'? ") + "ops: " + all);
    return std::nullopt;  // its other keys mean nothing without a kind
  }
  if (in_loop && !repeatable(*op))
    r.error("op", "'" + *op + "' cannot repeat in a step whose hold has every_ms; move it to a "
                  "step without every_ms");
  OpReader o(r, st);
  Op result = read_fields(*op, o, d);
  r.finish();
  return result;
}

}  // namespace ktstr::scenario::detail
