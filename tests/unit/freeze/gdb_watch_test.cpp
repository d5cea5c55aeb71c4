#include "freeze/gdb_watch.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <poll.h>

#include <functional>
#include <thread>

#include "qemu_fixture.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::freeze {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// ---- framing ---------------------------------------------------------------

TEST(GdbProto, FrameEscapesAndChecksums) {
  EXPECT_EQ(gdbproto::frame("OK"), "$OK#9a");
  EXPECT_EQ(gdbproto::frame("c"), "$c#63");
  // '$' '#' '}' '*' go as '}' + (byte ^ 0x20); the checksum covers what is sent.
  std::string f = gdbproto::frame("a#b");
  EXPECT_EQ(f.substr(0, 6), "$a}\x03" "b#");
  EXPECT_EQ(f.substr(6), fmt::format("{:02x}", gdbproto::checksum("a}\x03" "b")));
}

TEST(GdbProto, DecodeRunLengthAndEscapes) {
  // "0* " = '0' plus (' ' - 29) = 3 more copies.
  EXPECT_EQ(*gdbproto::decode("0* ", 100), "0000");
  EXPECT_EQ(*gdbproto::decode("x}\x03y", 100), "x#y");
  EXPECT_EQ(*gdbproto::decode("", 100), "");
  EXPECT_FALSE(gdbproto::decode("*a", 100).ok());  // nothing to repeat
  EXPECT_FALSE(gdbproto::decode("a*", 100).ok());  // no count
  EXPECT_FALSE(gdbproto::decode("a}", 100).ok());  // escape at the end
  EXPECT_FALSE(gdbproto::decode("a*~", 10).ok());  // expands past the bound
  EXPECT_FALSE(gdbproto::decode("abcdef", 5).ok());
}

TEST(GdbProto, ParseStopReplies) {
  auto w = parse_stop_reply("T05thread:01;watch:000000000000046c;");
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_TRUE(w->is_watch());
  EXPECT_EQ(w->signal, 5);
  EXPECT_EQ(w->watch_addr, 0x46cu);

  auto paused = parse_stop_reply("T02thread:01;");
  ASSERT_TRUE(paused.ok());
  EXPECT_FALSE(paused->is_watch());
  EXPECT_EQ(paused->signal, kGdbSigInt);

  auto r = parse_stop_reply("T05thread:01;rwatch:ffffffff81000000;");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->is_watch());  // a read watch is not a write watch
  EXPECT_EQ(r->watch_kind, "rwatch");
  EXPECT_EQ(r->watch_addr, 0xffffffff81000000u);

  EXPECT_EQ(parse_stop_reply("S05")->signal, 5);
  EXPECT_TRUE(parse_stop_reply("W00")->exited);
  EXPECT_FALSE(parse_stop_reply("OK").ok());
  EXPECT_FALSE(parse_stop_reply("").ok());
  EXPECT_FALSE(parse_stop_reply("Tzz").ok());
  EXPECT_FALSE(parse_stop_reply("T05watch:nothex;").ok());
  EXPECT_FALSE(parse_stop_reply("T05watch:11112222333344445;").ok());  // > 64 bits
}

// ---- a scripted gdbstub -------------------------------------------------------

// Listens on a unix socket; `script` runs in a thread with the accepted fd.
class FakeStub {
 public:
  using Script = std::function<void(FakeStub&)>;
  explicit FakeStub(Script script) {
    auto dir = TempDir::create("ktstr-fake-gdb-");
    EXPECT_TRUE(dir.ok());
    dir_ = std::move(*dir);
    path_ = dir_.path() / "gdb.sock";
    listen_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_.get(), 1), 0);
    thread_ = std::thread([this, script = std::move(script)] {
      conn_ = UniqueFd(::accept(listen_.get(), nullptr, nullptr));
      script(*this);
    });
  }
  ~FakeStub() {
    if (thread_.joinable()) thread_.join();
  }
  const std::filesystem::path& path() const { return path_; }

  void send(const std::string& raw) { (void)write_all(conn_.get(), raw); }
  // The next packet body the client sent ("" at EOF); acks are recorded.
  std::string recv_packet() {
    while (true) {
      auto d = buf_.find('$');
      auto h = buf_.find('#', d == std::string::npos ? 0 : d);
      if (d != std::string::npos && h != std::string::npos && buf_.size() >= h + 3) {
        for (char c : buf_.substr(0, d)) received_extra += c;
        std::string body = buf_.substr(d + 1, h - d - 1);
        buf_.erase(0, h + 3);
        return body;
      }
      char tmp[1024];
      ssize_t n = ::read(conn_.get(), tmp, sizeof tmp);
      if (n <= 0) return "";
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  // Raw bytes that arrived after the last packet: waits up to `ms` for the
  // first, then until 50 ms pass quietly.
  std::string drain(int ms) {
    pollfd p{conn_.get(), POLLIN, 0};
    for (int wait = ms; ::poll(&p, 1, wait) > 0; wait = 50) {
      char tmp[256];
      ssize_t n = ::read(conn_.get(), tmp, sizeof tmp);
      if (n <= 0) break;
      buf_.append(tmp, static_cast<size_t>(n));
    }
    return std::exchange(buf_, "");
  }
  void close() { conn_.reset(); }

  std::string received_extra;  // bytes between packets (acks, 0x03)

 private:
  TempDir dir_;
  std::filesystem::path path_;
  UniqueFd listen_, conn_;
  std::string buf_;
  std::thread thread_;
};

vm::Deadline soon() { return vm::deadline_in(milliseconds(10000)); }

TEST(GdbClient, StopRepliesBeforeTheHandshakeAnswerAreDropped) {
  FakeStub stub([](FakeStub& s) {
    // Like QEMU when attaching to a running VM: T02 first, then the reply.
    s.send(gdbproto::frame("T02thread:01;"));
    EXPECT_EQ(s.recv_packet(), "qSupported");
    s.send("+" + gdbproto::frame("PacketSize=1000"));
    EXPECT_EQ(s.recv_packet(), "Z2,ffffffff81001000,8");
    // An unasked stop reply in front of the command's answer gets queued.
    s.send("+" + gdbproto::frame("T02thread:01;") + gdbproto::frame("OK"));
    EXPECT_EQ(s.recv_packet(), "z2,ffffffff81001000,8");
    s.send("+" + gdbproto::frame(""));  // unsupported
    EXPECT_EQ(s.recv_packet(), "Z2,10,0");
    s.send("+" + gdbproto::frame("E22"));
    EXPECT_EQ(s.recv_packet(), "Z2,10,8");
    s.send("+$noise" + gdbproto::frame("what"));  // a cut-off packet, then the reply
    EXPECT_EQ(s.recv_packet(), "D");
    s.send("+" + gdbproto::frame("OK"));
  });
  auto c = GdbClient::connect(stub.path(), soon());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->queued_stops(), 0u);
  ASSERT_TRUE(c->set_write_watchpoint(0xffffffff81001000, 8).ok());
  EXPECT_EQ(c->queued_stops(), 1u);
  auto cleared = c->clear_write_watchpoint(0xffffffff81001000, 8);
  ASSERT_FALSE(cleared.ok());
  EXPECT_EQ(cleared.error().code(), Errc::kUnavailable);
  EXPECT_NE(cleared.error().message().find("not support"), std::string::npos);
  auto bad_len = c->set_write_watchpoint(0x10, 0);
  ASSERT_FALSE(bad_len.ok());
  EXPECT_EQ(bad_len.error().code(), Errc::kFailed);
  EXPECT_NE(bad_len.error().message().find("E22"), std::string::npos);
  auto odd = c->set_write_watchpoint(0x10, 8);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().code(), Errc::kProtocol);
  auto ev = c->wait_stop(vm::Clock::now());
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->signal, kGdbSigInt);
  EXPECT_TRUE(c->detach().ok());
  EXPECT_FALSE(c->connected());
}

TEST(GdbClient, BadChecksumIsNackedAndTheResendAccepted) {
  FakeStub stub([](FakeStub& s) {
    EXPECT_EQ(s.recv_packet(), "qSupported");
    s.send("+$OK#00");  // wrong checksum
    EXPECT_EQ(s.drain(5000).substr(0, 1), "-");
    s.send(gdbproto::frame("OK"));
    s.drain(200);
    s.send(gdbproto::frame("T05thread:01;watch:1000;"));
    EXPECT_EQ(s.recv_packet(), "D");
    s.send("+" + gdbproto::frame("OK"));
  });
  auto c = GdbClient::connect(stub.path(), soon());
  ASSERT_TRUE(c.ok()) << c.error().message();
  auto ev = c->wait_stop(soon());
  ASSERT_TRUE(ev.ok()) << ev.error().message();
  EXPECT_TRUE(ev->is_watch());
  EXPECT_EQ(ev->watch_addr, 0x1000u);
}

TEST(GdbClient, StopRepliesAreNotAckedButCommandRepliesAre) {
  std::string after_stop, after_reply;
  FakeStub stub([&](FakeStub& s) {
    EXPECT_EQ(s.recv_packet(), "qSupported");
    s.send("+" + gdbproto::frame("x"));
    after_reply = s.drain(5000);
    s.send(gdbproto::frame("T05thread:01;watch:1000;"));
    after_stop = s.drain(500);
    s.close();
  });
  auto c = GdbClient::connect(stub.path(), soon());
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->wait_stop(soon()).ok());
  // QEMU stops a running VM on any byte it does not expect: a stop reply
  // must not be acked (see gdb_watch.h).
  auto closed = c->wait_stop(soon());
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().code(), Errc::kIo);
  EXPECT_FALSE(c->connected());
  EXPECT_EQ(after_reply, "+");
  EXPECT_EQ(after_stop, "");
}

TEST(GdbClient, WaitStopTimesOutAndConnectGivesUp) {
  FakeStub stub([](FakeStub& s) {
    EXPECT_EQ(s.recv_packet(), "qSupported");
    s.send("+" + gdbproto::frame(""));
    EXPECT_EQ(s.recv_packet(), "D");
    s.send("+" + gdbproto::frame("OK"));
  });
  auto c = GdbClient::connect(stub.path(), soon());
  ASSERT_TRUE(c.ok()) << c.error().message();
  auto ev = c->wait_stop(vm::deadline_in(milliseconds(50)));
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.error().code(), Errc::kTimeout);

  auto none = GdbClient::connect("/nonexistent/ktstr/gdb.sock", vm::deadline_in(milliseconds(100)));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("/nonexistent/ktstr/gdb.sock"), std::string::npos);
}

TEST(GdbClient, EndlessPacketIsRefusedNotBuffered) {
  FakeStub stub([](FakeStub& s) {
    EXPECT_EQ(s.recv_packet(), "qSupported");
    s.send("+" + gdbproto::frame(""));
    s.drain(5000);
    // Twice the bound: the client reads at most 4 KiB at a time, so it hits
    // the bound well before the next packet arrives.
    s.send("$" + std::string(2 * GdbClient::kMaxPacket, 'a'));
    s.send(gdbproto::frame("T02"));
    EXPECT_EQ(s.recv_packet(), "D");
    s.send("+" + gdbproto::frame("OK"));
  });
  auto c = GdbClient::connect(stub.path(), soon());
  ASSERT_TRUE(c.ok()) << c.error().message();
  auto ev = c->wait_stop(soon());
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.error().code(), Errc::kProtocol);
  // Resynchronised on the next packet.
  auto next = c->wait_stop(soon());
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(next->signal, kGdbSigInt);
}

// ---- against real QEMU ------------------------------------------------------------

class GdbRealQemu : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = qemu_.start();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  test::RealQemu qemu_;
};

TEST_F(GdbRealQemu, WriteWatchpointOnTheBiosTickCounterHits) {
  auto c = GdbClient::connect(qemu_.gdb_socket(), vm::deadline_in(seconds(30)));
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->set_write_watchpoint(test::kBiosTicks, 4).ok());
  ASSERT_TRUE(c->resume().ok());
  // The timer ticks ~18 times a second once SeaBIOS runs; generous deadline.
  auto ev = c->wait_stop(vm::deadline_in(seconds(60)));
  ASSERT_TRUE(ev.ok()) << ev.error().message();
  EXPECT_TRUE(ev->is_watch()) << ev->raw;
  EXPECT_EQ(ev->watch_addr, test::kBiosTicks);

  // Stopped at the hit: commands work; bad ones are refused with E22.
  auto zero = c->set_write_watchpoint(test::kBiosTicks, 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message().find("E22"), std::string::npos) << zero.error().message();
  auto wrap = c->set_write_watchpoint(~uint64_t{0}, 8);
  ASSERT_FALSE(wrap.ok());
  EXPECT_EQ(wrap.error().code(), Errc::kFailed);
  EXPECT_TRUE(c->clear_write_watchpoint(test::kBiosTicks, 4).ok());
  EXPECT_TRUE(c->detach().ok());
  EXPECT_TRUE(qemu_.running());
}

TEST_F(GdbRealQemu, QmpStopAndContInterplay) {
  auto qmp = qemu_.qmp(vm::deadline_in(seconds(30)));
  ASSERT_TRUE(qmp.ok()) << qmp.error().message();
  ASSERT_TRUE(qmp->cont().ok());  // leave prelaunch: the VM runs
  auto c = GdbClient::connect(qemu_.gdb_socket(), vm::deadline_in(seconds(30)));
  ASSERT_TRUE(c.ok()) << c.error().message();
  // Attaching stopped the running VM; its T02 was consumed by connect().
  EXPECT_EQ(*qmp->query_status(), "paused");
  EXPECT_EQ(c->queued_stops(), 0u);

  // QMP cont resumes a gdb-attached VM; QMP stop then shows up on the
  // gdbstub as a non-watch stop reply.
  ASSERT_TRUE(qmp->cont().ok());
  ASSERT_TRUE(qmp->stop().ok());
  auto st = c->wait_stop(vm::deadline_in(seconds(30)));
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_FALSE(st->is_watch());
  EXPECT_EQ(st->signal, kGdbSigInt);

  // Armed while QMP-paused; QMP cont runs into the hit (state "debug").
  ASSERT_TRUE(c->set_write_watchpoint(test::kBiosTicks, 4).ok());
  ASSERT_TRUE(qmp->cont().ok());
  auto hit = c->wait_stop(vm::deadline_in(seconds(60)));
  ASSERT_TRUE(hit.ok()) << hit.error().message();
  EXPECT_TRUE(hit->is_watch());
  EXPECT_EQ(*qmp->query_status(), "debug");
  // QMP stop in "debug" changes nothing (no second stop reply) and QMP cont
  // resumes from the hit with the watchpoint still armed.
  ASSERT_TRUE(qmp->stop().ok());
  EXPECT_EQ(*qmp->query_status(), "debug");
  ASSERT_TRUE(qmp->cont().ok());
  auto again = c->wait_stop(vm::deadline_in(seconds(60)));
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_TRUE(again->is_watch()) << again->raw;

  // interrupt() stops a running VM with a T02.
  ASSERT_TRUE(c->clear_write_watchpoint(test::kBiosTicks, 4).ok());
  ASSERT_TRUE(c->resume().ok());
  ASSERT_TRUE(c->interrupt().ok());
  auto intr = c->wait_stop(vm::deadline_in(seconds(30)));
  ASSERT_TRUE(intr.ok()) << intr.error().message();
  EXPECT_EQ(intr->signal, kGdbSigInt);
  EXPECT_EQ(*qmp->query_status(), "paused");

  // Detach from a RUNNING VM (interrupt + D) leaves it running.
  ASSERT_TRUE(qmp->cont().ok());
  EXPECT_TRUE(c->detach().ok());
  EXPECT_EQ(*qmp->query_status(), "running");
}

}  // namespace
}  // namespace ktstr::freeze
