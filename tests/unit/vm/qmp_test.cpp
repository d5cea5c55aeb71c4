#include "vm/qmp.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "util/files.h"

namespace ktstr::vm {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const char* kGreeting =
    R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}})";

// A scripted QMP peer on the other end of a socketpair. `script` runs in a
// thread with helpers to read one command line and send raw text.
class FakeServer {
 public:
  using Script = std::function<void(FakeServer&)>;
  explicit FakeServer(Script script) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    client_ = UniqueFd(sv[0]);
    server_ = UniqueFd(sv[1]);
    thread_ = std::thread([this, script = std::move(script)] { script(*this); });
  }
  ~FakeServer() {
    if (thread_.joinable()) thread_.join();
  }
  UniqueFd take_client() { return std::move(client_); }

  void send(const std::string& text) { ASSERT_TRUE(write_all(server_.get(), text).ok()); }
  // Next command line from the client, parsed; null at EOF.
  json recv() {
    while (true) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return json::parse(line);
      }
      char tmp[4096];
      ssize_t n = ::read(server_.get(), tmp, sizeof tmp);
      if (n <= 0) return nullptr;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  // Expects `cmd`, answers with `reply_json` (the "return"/"error" part).
  void answer(const std::string& cmd, const std::string& reply_json) {
    json req = recv();
    ASSERT_FALSE(req.is_null()) << "client closed before " << cmd;
    EXPECT_EQ(req["execute"], cmd);
    json reply = json::parse(reply_json);
    reply["id"] = req["id"];
    send(reply.dump() + "\n");
  }
  void handshake() {
    send(std::string(kGreeting) + "\n");
    answer("qmp_capabilities", R"({"return": {}})");
  }
  void close() { server_.reset(); }

 private:
  UniqueFd client_, server_;
  std::string buf_;
  std::thread thread_;
};

Deadline soon() { return deadline_in(milliseconds(10000)); }

TEST(Qmp, GreetingAndCapabilities) {
  FakeServer srv([](FakeServer& s) { s.handshake(); });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_TRUE(q.ok()) << q.error().message();
  EXPECT_EQ(q->version()["qemu"]["major"], 7);
  EXPECT_TRUE(q->connected());
}

TEST(Qmp, ExecuteReturnsTheReturnMember) {
  FakeServer srv([](FakeServer& s) {
    s.handshake();
    json req = s.recv();
    EXPECT_EQ(req["execute"], "human-monitor-command");
    EXPECT_EQ(req["arguments"]["command-line"], "info cpus");
    s.send(json({{"return", "CPU #0\n"}, {"id", req["id"]}}).dump() + "\n");
  });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_TRUE(q.ok());
  auto r = q->execute("human-monitor-command", {{"command-line", "info cpus"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, "CPU #0\n");
}

TEST(Qmp, ErrorReplyBecomesAnError) {
  FakeServer srv([](FakeServer& s) {
    s.handshake();
    s.answer(
        "nonsense",
        R"({"error": {"class": "CommandNotFound", "desc": "The command nonsense has not been found"}})");
  });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_TRUE(q.ok());
  auto r = q->execute("nonsense");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kFailed);
  EXPECT_EQ(r.error().message(),
            "qmp nonsense: CommandNotFound: The command nonsense has not been found");
}

TEST(Qmp, EventsInterleavedWithRepliesAreBuffered) {
  FakeServer srv([](FakeServer& s) {
    s.handshake();
    json req = s.recv();
    EXPECT_EQ(req["execute"], "stop");
    // Event first, then the reply, all in one write.
    s.send(R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"})"
           "\n" +
           json({{"return", json::object()}, {"id", req["id"]}}).dump() + "\n");
    s.answer("query-status", R"({"return": {"status": "paused", "running": false}})");
    s.send(R"({"event": "RESUME", "timestamp": {}})"
           "\n");
  });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(q->stop().ok());
  auto st = q->query_status();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, "paused");
  auto resume = q->wait_event("RESUME", soon());
  ASSERT_TRUE(resume.ok()) << resume.error().message();
  auto evs = q->events();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].name, "STOP");
  EXPECT_EQ(evs[0].timestamp["seconds"], 1);
  EXPECT_TRUE(q->events().empty());
}

TEST(Qmp, StaleRepliesWithOtherIdsAreSkipped) {
  FakeServer srv([](FakeServer& s) {
    s.handshake();
    json req = s.recv();
    s.send(R"({"return": {"status": "old"}, "id": 999})"
           "\n" +
           json({{"return", {{"status", "running"}}}, {"id", req["id"]}}).dump() + "\n");
  });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->query_status(), "running");
}

TEST(Qmp, QueryCpusFast) {
  FakeServer srv([](FakeServer& s) {
    s.handshake();
    s.answer("query-cpus-fast", R"({"return": [
      {"cpu-index": 0, "thread-id": 1234, "qom-path": "/machine/unattached/device[0]", "target": "x86_64"},
      {"cpu-index": 1, "thread-id": 1235, "qom-path": "/machine/unattached/device[1]", "target": "x86_64"}]})");
  });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_TRUE(q.ok());
  auto cpus = q->query_cpus_fast();
  ASSERT_TRUE(cpus.ok()) << cpus.error().message();
  ASSERT_EQ(cpus->size(), 2u);
  EXPECT_EQ((*cpus)[1].cpu_index, 1);
  EXPECT_EQ((*cpus)[1].thread_id, 1235);
}

TEST(Qmp, QuitToleratesTheSocketClosing) {
  FakeServer srv([](FakeServer& s) {
    s.handshake();
    json req = s.recv();
    EXPECT_EQ(req["execute"], "quit");
    s.send(R"({"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}})"
           "\n");
    s.close();  // QEMU exits before we see the reply
  });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->quit().ok());
  EXPECT_FALSE(q->connected());
  auto after = q->execute("query-status");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code(), Errc::kIo);
  auto evs = q->events();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].name, "SHUTDOWN");
  EXPECT_EQ(evs[0].data["reason"], "host-qmp-quit");
}

TEST(Qmp, NoReplyTimesOut) {
  FakeServer srv([](FakeServer& s) {
    s.handshake();
    (void)s.recv();  // never answers; returns when the client closes
  });
  {
    auto q = Qmp::connect(srv.take_client(), soon());
    ASSERT_TRUE(q.ok());
    auto r = q->execute("query-status", nullptr, deadline_in(milliseconds(50)));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::kTimeout);
    auto e = q->wait_event("SHUTDOWN", deadline_in(milliseconds(50)));
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().code(), Errc::kTimeout);
  }
}

TEST(Qmp, MissingGreetingIsAProtocolError) {
  FakeServer srv([](FakeServer& s) { s.send("{\"return\": {}}\n"); });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().code(), Errc::kProtocol);
}

TEST(Qmp, MalformedJsonIsAProtocolError) {
  FakeServer srv([](FakeServer& s) { s.send("{not json\n"); });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().code(), Errc::kProtocol);
  EXPECT_NE(q.error().message().find("{not json"), std::string::npos);
}

TEST(Qmp, EofDuringGreeting) {
  FakeServer srv([](FakeServer& s) { s.close(); });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().code(), Errc::kIo);
}

TEST(Qmp, ConcurrentCallersAreSerialised) {
  constexpr int kCalls = 50;
  FakeServer srv([](FakeServer& s) {
    s.handshake();
    for (int i = 0; i < 2 * kCalls; ++i)
      s.answer("query-status", R"({"return": {"status": "running"}})");
  });
  auto q = Qmp::connect(srv.take_client(), soon());
  ASSERT_TRUE(q.ok());
  auto worker = [&q] {
    for (int i = 0; i < kCalls; ++i) EXPECT_EQ(*q->query_status(), "running");
  };
  std::thread t1(worker), t2(worker);
  t1.join();
  t2.join();
}

}  // namespace
}  // namespace ktstr::vm
