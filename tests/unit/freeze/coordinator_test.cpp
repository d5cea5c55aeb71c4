#include "freeze/coordinator.h"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "freeze/kernel_ops.h"
#include "monitor/synthetic_kernel.h"
#include "qemu_fixture.h"
#include "util/files.h"

namespace ktstr::freeze {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A QMP peer that keeps a run state: stop -> "paused" (unless already
// stopped), cont -> "running". Records every command. `stuck_running`
// makes stop a no-op (the VM never stops).
class FakeQmp {
 public:
  FakeQmp() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    UniqueFd client(sv[0]);
    server_ = UniqueFd(sv[1]);
    thread_ = std::thread([this] { serve(); });
    auto q = vm::Qmp::connect(std::move(client), vm::deadline_in(milliseconds(10000)));
    EXPECT_TRUE(q.ok());
    if (q.ok()) qmp = std::move(*q);
  }
  ~FakeQmp() {
    qmp = vm::Qmp();  // closes the client end: serve() sees EOF
    thread_.join();
  }
  std::vector<std::string> commands() {
    std::lock_guard lock(mu_);
    return commands_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    commands_.clear();
  }
  void set_state(std::string s) {
    std::lock_guard lock(mu_);
    state_ = std::move(s);
  }
  std::atomic<bool> stuck_running{false};
  vm::Qmp qmp;

 private:
  void serve() {
    auto put = [this](const json& j) { (void)write_all(server_.get(), j.dump() + "\n"); };
    put(json::parse(
        R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}})"));
    std::string buf;
    while (true) {
      auto nl = buf.find('\n');
      if (nl == std::string::npos) {
        char tmp[4096];
        ssize_t n = ::read(server_.get(), tmp, sizeof tmp);
        if (n <= 0) return;
        buf.append(tmp, static_cast<size_t>(n));
        continue;
      }
      json req = json::parse(buf.substr(0, nl));
      buf.erase(0, nl + 1);
      std::string cmd = req.value("execute", "");
      json ret = json::object();
      {
        std::lock_guard lock(mu_);
        if (cmd != "qmp_capabilities") commands_.push_back(cmd);
        if (cmd == "stop" && state_ == "running" && !stuck_running) state_ = "paused";
        if (cmd == "cont") state_ = "running";
        if (cmd == "query-status") ret = {{"status", state_}, {"running", state_ == "running"}};
      }
      put({{"return", ret}, {"id", req["id"]}});
    }
  }
  UniqueFd server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> commands_;
  std::string state_ = "running";
};

struct Sent {
  wire::MsgType type;
  wire::Bytes payload;
};

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = monitor::SyntheticKernel::build();
    ASSERT_TRUE(k.ok()) << k.error().message();
    synth_ = std::move(*k);
    // Extra symbols: an odd address for the alignment check, and the BIOS
    // tick counter for the real-QEMU watch test (8-aligned, covers 0x46c).
    synth_->kernel().symbols = ksyms::SymbolTable::parse_kallsyms(
        synth_->kallsyms() + "ffffffff81000004 D odd_var\n0000000000000468 D bios_ticks\n");
    wire::SinksConfig cfg;
    cfg.now = [this] { return now_; };
    cfg.log = [this](std::string_view l) {
      std::lock_guard lock(sent_mu_);
      logs_.emplace_back(l);
    };
    auto s = wire::Sinks::create(std::move(cfg));
    ASSERT_TRUE(s.ok());
    sinks_ = std::move(*s);
  }

  std::unique_ptr<FreezeCoordinator> make(vm::Qmp& qmp, FreezeOptions o = {}) {
    return std::make_unique<FreezeCoordinator>(
        qmp, synth_->kernel(), nullptr, *sinks_,
        [this](wire::MsgType t, std::span<const uint8_t> p) -> Status {
          std::lock_guard lock(sent_mu_);
          sent_.push_back({t, wire::Bytes(p.begin(), p.end())});
          sent_cv_.notify_all();
          return {};
        },
        std::move(o));
  }

  std::vector<Sent> sent() {
    std::lock_guard lock(sent_mu_);
    return sent_;
  }
  wire::SnapshotReply snapshot_reply(size_t i) {
    auto s = sent();
    EXPECT_LT(i, s.size());
    if (i >= s.size()) return {};
    EXPECT_EQ(s[i].type, wire::MsgType::kSnapshotReply);
    auto r = wire::decode_snapshot_reply(s[i].payload);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : wire::SnapshotReply{};
  }
  wire::KernelOpReply op_reply(size_t i) {
    auto s = sent();
    EXPECT_LT(i, s.size());
    if (i >= s.size()) return {};
    EXPECT_EQ(s[i].type, wire::MsgType::kKernelOpReply);
    auto r = wire::decode_kernel_op_reply(s[i].payload);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : wire::KernelOpReply{};
  }
  void request(uint64_t id, wire::SnapshotKind kind, std::string tag) {
    ASSERT_TRUE(sinks_->snapshot_requests.push({id, kind, std::move(tag)}));
  }

  std::unique_ptr<monitor::SyntheticKernel> synth_;
  std::unique_ptr<wire::Sinks> sinks_;
  wire::ScenarioTiming::TimePoint now_{seconds(1000)};
  std::mutex sent_mu_;
  std::condition_variable sent_cv_;
  std::vector<Sent> sent_;
  std::vector<std::string> logs_;
};

const std::vector<std::string> kFreezeCommands = {"stop", "query-status", "cont"};

TEST_F(CoordinatorTest, CaptureRequestFreezesReadsThawsAndReplies) {
  FakeQmp q;
  FreezeOptions o;
  o.globals = {"jiffies", "no_such_global"};
  auto c = make(q.qmp, o);
  sinks_->step_index = 3;
  sinks_->timing.on_start(now_, 10000);
  now_ += milliseconds(1500);
  request(7, wire::SnapshotKind::kCapture, "mid");
  c->serve_once(milliseconds(0));

  EXPECT_EQ(snapshot_reply(0), (wire::SnapshotReply{7, kSnapshotOk, ""}));
  EXPECT_EQ(q.commands(), kFreezeCommands);
  auto snaps = c->snapshots();
  ASSERT_EQ(snaps.size(), 1u);
  const Snapshot& s = snaps[0];
  EXPECT_EQ(s.name, "mid");
  EXPECT_EQ(s.trigger, Trigger::kRequest);
  EXPECT_EQ(s.step, 3u);
  EXPECT_EQ(s.t_ms, 1500u);
  EXPECT_EQ(s.workload_ms, 1500u);
  ASSERT_EQ(s.sched.cpus.size(), 4u);
  EXPECT_EQ(s.sched.cpus[2].curr_pid, 102u);
  EXPECT_EQ(s.globals["jiffies"], 4'294'667'296ull);
  EXPECT_TRUE(s.globals["no_such_global"].is_null());
  // The synthetic kernel has no map_idr: an error in the snapshot, not a failure.
  bool maps_error = false, global_error = false;
  for (auto& e : s.errors) {
    maps_error |= e.rfind("bpf maps", 0) == 0;
    global_error |= e.find("no_such_global") != std::string::npos;
  }
  EXPECT_TRUE(maps_error);
  EXPECT_TRUE(global_error);

  auto st = c->stats();
  EXPECT_EQ(st.count, 1u);
  EXPECT_EQ(st.freezes, 1u);
  EXPECT_EQ(st.freeze_us_max, s.freeze_us);
  EXPECT_EQ(st.freeze_us_median, s.freeze_us);
}

TEST_F(CoordinatorTest, EmptyTagIsNamedAfterTheRequest) {
  FakeQmp q;
  auto c = make(q.qmp);
  request(42, wire::SnapshotKind::kCapture, "");
  c->serve_once(milliseconds(0));
  ASSERT_EQ(c->snapshots().size(), 1u);
  EXPECT_EQ(c->snapshots()[0].name, "request#42");
}

TEST_F(CoordinatorTest, AVmThatDoesNotStopIsStillContinuedAndTheRequestFails) {
  FakeQmp q;
  q.stuck_running = true;
  auto c = make(q.qmp);
  request(1, wire::SnapshotKind::kCapture, "x");
  c->serve_once(milliseconds(0));
  auto r = snapshot_reply(0);
  EXPECT_EQ(r.status, kSnapshotFailed);
  EXPECT_NE(r.reason.find("not paused"), std::string::npos) << r.reason;
  EXPECT_EQ(q.commands(), kFreezeCommands);  // cont ALWAYS
  EXPECT_TRUE(c->snapshots().empty());
  EXPECT_EQ(c->stats().refused_requests, 1u);
}

TEST_F(CoordinatorTest, SnapshotLimitRefusesWithoutFreezing) {
  FakeQmp q;
  FreezeOptions o;
  o.max_snapshots = 1;
  auto c = make(q.qmp, o);
  request(1, wire::SnapshotKind::kCapture, "a");
  request(2, wire::SnapshotKind::kCapture, "b");
  c->serve_once(milliseconds(0));
  EXPECT_EQ(snapshot_reply(0).status, kSnapshotOk);
  auto r = snapshot_reply(1);
  EXPECT_EQ(r.status, kSnapshotFailed);
  EXPECT_NE(r.reason.find("limit 1"), std::string::npos) << r.reason;
  EXPECT_EQ(q.commands(), kFreezeCommands);  // one freeze only
  EXPECT_EQ(c->stats().dropped_snapshots, 1u);
}

TEST_F(CoordinatorTest, WatchValidationErrorsReplyWithoutTouchingTheVm) {
  FakeQmp q;
  FreezeOptions o;
  o.gdb_socket = "/nonexistent/gdb.sock";
  auto c = make(q.qmp, o);
  request(1, wire::SnapshotKind::kWatch, "nope");
  request(2, wire::SnapshotKind::kWatch, "odd_var");
  request(3, wire::SnapshotKind::kWatch, "");
  request(4, wire::SnapshotKind::kWatch, "bios_ticks");  // not a kernel address
  c->serve_once(milliseconds(0));
  EXPECT_EQ(snapshot_reply(0), (wire::SnapshotReply{1, kSnapshotFailed, "unknown kernel symbol 'nope'"}));
  auto mis = snapshot_reply(1);
  EXPECT_EQ(mis.status, kSnapshotFailed);
  EXPECT_EQ(mis.reason.rfind("misaligned", 0), 0u) << mis.reason;
  EXPECT_NE(mis.reason.find("0xffffffff81000004"), std::string::npos) << mis.reason;
  EXPECT_EQ(snapshot_reply(2).status, kSnapshotFailed);
  auto user = snapshot_reply(3);
  EXPECT_EQ(user.status, kSnapshotFailed);
  EXPECT_NE(user.reason.find("not a kernel address"), std::string::npos) << user.reason;
  EXPECT_TRUE(q.commands().empty());
  EXPECT_FALSE(c->gdb_attached());
  EXPECT_EQ(c->stats().refused_requests, 4u);
}

TEST_F(CoordinatorTest, WatchWithoutAGdbstubIsRefused) {
  FakeQmp q;
  auto c = make(q.qmp);
  request(5, wire::SnapshotKind::kWatch, "jiffies");
  c->serve_once(milliseconds(0));
  auto r = snapshot_reply(0);
  EXPECT_EQ(r.status, kSnapshotFailed);
  EXPECT_NE(r.reason.find("gdbstub"), std::string::npos) << r.reason;
  EXPECT_TRUE(q.commands().empty());
}

TEST_F(CoordinatorTest, GdbAttachFailureStillContinuesTheVm) {
  FakeQmp q;
  FreezeOptions o;
  o.gdb_socket = "/nonexistent/gdb.sock";
  o.freeze_timeout = milliseconds(100);
  auto c = make(q.qmp, o);
  request(5, wire::SnapshotKind::kWatch, "jiffies");
  c->serve_once(milliseconds(0));
  auto r = snapshot_reply(0);
  EXPECT_EQ(r.status, kSnapshotFailed);
  EXPECT_NE(r.reason.find("/nonexistent/gdb.sock"), std::string::npos) << r.reason;
  EXPECT_EQ(q.commands(), kFreezeCommands);
  EXPECT_FALSE(c->gdb_attached());
}

TEST_F(CoordinatorTest, KernelOpReadsRunUnfrozenWritesFrozen) {
  FakeQmp q;
  auto c = make(q.qmp);
  wire::KernelOpRequest rd;
  rd.request_id = 11;
  rd.op = wire::KernelOp::kRead;
  rd.target = wire::KernelTarget::kSymbol;
  rd.symbol = "jiffies";
  ASSERT_TRUE(sinks_->kernel_op_requests.push(rd));
  c->serve_once(milliseconds(0));
  auto r = op_reply(0);
  EXPECT_EQ(r.request_id, 11u);
  EXPECT_EQ(r.status, kOk) << r.reason;
  EXPECT_EQ(r.value, 4'294'667'296ull);
  EXPECT_TRUE(q.commands().empty());

  wire::KernelOpRequest wr = rd;
  wr.request_id = 12;
  wr.op = wire::KernelOp::kWrite;
  wr.value = 77;
  ASSERT_TRUE(sinks_->kernel_op_requests.push(wr));
  wire::KernelOpRequest bad = rd;
  bad.request_id = 13;
  bad.width = 3;
  ASSERT_TRUE(sinks_->kernel_op_requests.push(bad));
  c->serve_once(milliseconds(0));
  auto w = op_reply(1);
  EXPECT_EQ(w.status, kOk) << w.reason;
  EXPECT_EQ(q.commands(), kFreezeCommands);
  auto jiffies = synth_->space().read_u64(*synth_->kernel().symbols.find("jiffies"));
  EXPECT_EQ(*jiffies, 77u);
  EXPECT_NE(op_reply(2).status, kOk);
  EXPECT_EQ(c->stats().refused_ops, 1u);
  EXPECT_EQ(c->stats().freezes, 1u);
}

TEST_F(CoordinatorTest, WriteIsRefusedWhenTheVmCannotBeStopped) {
  FakeQmp q;
  q.stuck_running = true;
  auto c = make(q.qmp);
  wire::KernelOpRequest wr;
  wr.request_id = 1;
  wr.op = wire::KernelOp::kWrite;
  wr.symbol = "jiffies";
  wr.value = 5;
  ASSERT_TRUE(sinks_->kernel_op_requests.push(wr));
  c->serve_once(milliseconds(0));
  EXPECT_EQ(op_reply(0).status, kNotFrozen);
  EXPECT_EQ(*synth_->space().read_u64(*synth_->kernel().symbols.find("jiffies")),
            4'294'667'296ull);
  EXPECT_EQ(q.commands(), kFreezeCommands);
}

TEST_F(CoordinatorTest, PeriodicCapturesFollowWorkloadTime) {
  FakeQmp q;
  auto c = make(q.qmp);
  c->set_periodic(2, 1000);  // at 100 and 900 ms
  c->serve_once(milliseconds(0));
  EXPECT_TRUE(c->snapshots().empty());  // not started
  sinks_->timing.on_start(now_, 1000);
  now_ += milliseconds(100);
  sinks_->step_index = 1;
  c->serve_once(milliseconds(0));
  now_ += milliseconds(500);
  c->serve_once(milliseconds(0));
  now_ += milliseconds(400);
  c->serve_once(milliseconds(0));
  auto snaps = c->snapshots();
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0].name, "periodic#0");
  EXPECT_EQ(snaps[0].trigger, Trigger::kPeriodic);
  EXPECT_EQ(snaps[0].workload_ms, 100u);
  EXPECT_EQ(snaps[0].step, 1u);
  EXPECT_EQ(snaps[1].name, "periodic#1");
  EXPECT_EQ(snaps[1].workload_ms, 1000u);
  EXPECT_TRUE(sent().empty());  // nobody asked: no replies
}

TEST_F(CoordinatorTest, ServingThreadAnswersRequests) {
  FakeQmp q;
  auto c = make(q.qmp);
  ASSERT_TRUE(c->start().ok());
  request(9, wire::SnapshotKind::kCapture, "threaded");
  {
    std::unique_lock lock(sent_mu_);
    ASSERT_TRUE(sent_cv_.wait_for(lock, seconds(30), [&] { return !sent_.empty(); }));
  }
  c->stop();
  EXPECT_EQ(snapshot_reply(0).status, kSnapshotOk);
  EXPECT_EQ(c->snapshots().at(0).name, "threaded");
}

// The watch path end to end against a real QEMU (no kernel): the "kernel
// symbol" bios_ticks is the BIOS tick counter at linear 0x468..0x46f. What
// the snapshots read is the synthetic kernel; what is tested is the gdb /
// QMP choreography: arm inside a freeze, capture on hits (rate limited),
// disarm after watch_max_hits, leave the VM running.
TEST_F(CoordinatorTest, WatchHitsAreCapturedAgainstRealQemu) {
  test::RealQemu qemu;
  if (std::string why = qemu.start(); !why.empty()) GTEST_SKIP() << why;
  auto qmp = qemu.qmp(vm::deadline_in(seconds(30)));
  ASSERT_TRUE(qmp.ok()) << qmp.error().message();
  ASSERT_TRUE(qmp->cont().ok());  // leave prelaunch
  FreezeOptions o;
  o.gdb_socket = qemu.gdb_socket();
  o.require_kernel_address = false;  // the BIOS counter is at 0x468
  o.watch_max_hits = 3;
  o.watch_min_interval = milliseconds(200);
  o.dump_maps = false;
  auto c = make(*qmp, o);
  request(1, wire::SnapshotKind::kWatch, "bios_ticks");
  c->serve_once(milliseconds(0));
  ASSERT_EQ(snapshot_reply(0), (wire::SnapshotReply{1, kSnapshotOk, ""}));
  EXPECT_TRUE(c->gdb_attached());
  EXPECT_EQ(*qmp->query_status(), "running");
  request(2, wire::SnapshotKind::kWatch, "bios_ticks");  // idempotent
  c->serve_once(milliseconds(0));
  EXPECT_EQ(snapshot_reply(1), (wire::SnapshotReply{2, kSnapshotOk, "already armed"}));

  // Every hit advances the injected clock 100 ms: every other hit is
  // captured, the rest only resumed.
  const auto deadline = vm::deadline_in(seconds(120));
  while (c->snapshots().size() < 3 && vm::Clock::now() < deadline) {
    now_ += milliseconds(100);
    c->serve_once(milliseconds(200));
  }
  auto snaps = c->snapshots();
  ASSERT_EQ(snaps.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(snaps[i].name, "watch:bios_ticks#" + std::to_string(i));
    EXPECT_EQ(snaps[i].trigger, Trigger::kWatch);
  }
  auto st = c->stats();
  EXPECT_EQ(st.watch_captures, 3u);
  EXPECT_GE(st.watch_hits, 3u);
  // Disarmed: the VM runs on and no hit stops it any more.
  for (int i = 0; i < 5; ++i) c->serve_once(milliseconds(100));
  EXPECT_EQ(c->snapshots().size(), 3u);
  EXPECT_EQ(*qmp->query_status(), "running");
  c.reset();  // detaches
  EXPECT_EQ(*qmp->query_status(), "running");
  EXPECT_TRUE(qemu.running());
}

}  // namespace
}  // namespace ktstr::freeze
