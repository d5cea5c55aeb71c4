#include "guest/pump.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "frames.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::guest {
namespace {

using testing::decode_frames;
using testing::payloads_of;
using testing::PipeCollector;
using wire::MsgType;

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Pump, ForwardsMegabytesByteExact) {
  auto dir = TempDir::create("ktstr-pump-");
  ASSERT_TRUE(dir.ok());
  const std::string out = random_bytes(1 << 20, 1);
  const std::string err = random_bytes(300 * 1000 + 7, 2);
  ASSERT_TRUE(write_file(dir->path() / "out", out).ok());
  ASSERT_TRUE(write_file(dir->path() / "err", err).ok());

  PipeCollector port;
  FrameSink sink(port.write_fd());
  PumpOptions opts;
  opts.command = "cd '" + dir->path().string() + "' && cat out && cat err >&2 && exit 3";
  auto st = run_and_forward(opts, sink);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(exit_code_of(*st), 3);

  auto frames = decode_frames(port.finish());
  for (const auto& f : frames) EXPECT_LE(f.payload.size(), FrameSink::kMaxChunk);
  EXPECT_TRUE(payloads_of(frames, MsgType::kStdout) == out) << "stdout differs";
  EXPECT_TRUE(payloads_of(frames, MsgType::kStderr) == err) << "stderr differs";
}

TEST(Pump, PassesEnvAndNullStdin) {
  PipeCollector port;
  FrameSink sink(port.write_fd());
  PumpOptions opts;
  opts.command = "echo \"$KTSTR_A|$KTSTR_B\"; cat; echo done";
  opts.env = {"KTSTR_A=one", "KTSTR_B=two words"};
  auto st = run_and_forward(opts, sink);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(exit_code_of(*st), 0);
  auto frames = decode_frames(port.finish());
  EXPECT_EQ(payloads_of(frames, MsgType::kStdout), "one|two words\ndone\n");
  EXPECT_EQ(payloads_of(frames, MsgType::kStderr), "");
}

TEST(Pump, SignalDeathIs128PlusSignal) {
  PipeCollector port;
  FrameSink sink(port.write_fd());
  PumpOptions opts;
  opts.command = "echo before; kill -KILL $$";
  auto st = run_and_forward(opts, sink);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(st->signaled);
  EXPECT_EQ(st->signal, SIGKILL);
  EXPECT_EQ(exit_code_of(*st), 128 + SIGKILL);
  EXPECT_EQ(payloads_of(decode_frames(port.finish()), MsgType::kStdout), "before\n");
}

TEST(Pump, ExitCodeEncoding) {
  EXPECT_EQ(exit_code_of(ExitStatus{0, 0, false}), 0);
  EXPECT_EQ(exit_code_of(ExitStatus{255, 0, false}), 255);
  EXPECT_EQ(exit_code_of(ExitStatus{-1, SIGSEGV, true}), 128 + SIGSEGV);
  EXPECT_EQ(exit_code_of(ExitStatus{-1, SIGTERM, true}), 143);
}

TEST(Pump, BackgroundHolderDoesNotBlockForever) {
  PipeCollector port;
  FrameSink sink(port.write_fd());
  PumpOptions opts;
  // The background sleep keeps stdout open after the shell exits.
  opts.command = "sleep 60 & echo $!";
  opts.drain_grace = std::chrono::milliseconds(50);
  auto st = run_and_forward(opts, sink);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(exit_code_of(*st), 0);
  auto out = payloads_of(decode_frames(port.finish()), MsgType::kStdout);
  ASSERT_FALSE(out.empty());
  pid_t bg = std::stoi(out);
  ASSERT_GT(bg, 0);
  ::kill(bg, SIGKILL);  // re-parented away from us: nothing to reap here
}

TEST(Pump, SpawnFailureIsAnError) {
  PipeCollector port;
  FrameSink sink(port.write_fd());
  PumpOptions opts;
  opts.shell = "/nonexistent/sh";
  opts.command = "true";
  auto st = run_and_forward(opts, sink);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("starting the command"), std::string::npos);
}

// /dev/kmsg returns one record per read(); a SOCK_SEQPACKET pair does too.
struct FakeKmsg {
  FakeKmsg() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    read.reset(fds[0]);
    write.reset(fds[1]);
    EXPECT_EQ(::fcntl(read.get(), F_SETFL, O_NONBLOCK), 0);
  }
  void record(const std::string& r) {
    EXPECT_EQ(::send(write.get(), r.data(), r.size(), MSG_DONTWAIT), ssize_t(r.size()));
  }
  UniqueFd read, write;
};

TEST(Pump, ForwardsKmsgRecordsAsDmesg) {
  FakeKmsg kmsg;
  kmsg.record("6,1,2500000,-;hello kernel\n");
  kmsg.record("4,2,2600000,-;second\n SUBSYSTEM=x\n");

  PipeCollector port;
  FrameSink sink(port.write_fd());
  PumpOptions opts;
  opts.command = "echo x";
  opts.kmsg_fd = kmsg.read.get();
  auto st = run_and_forward(opts, sink);
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto frames = decode_frames(port.finish());
  EXPECT_EQ(payloads_of(frames, MsgType::kDmesg),
            "[    2.500000] hello kernel\n[    2.600000] second\n");
  EXPECT_EQ(payloads_of(frames, MsgType::kStdout), "x\n");
}

TEST(Pump, KmsgBatchesAreChunked) {
  FakeKmsg kmsg;
  std::string expected;
  for (int i = 0; i < 17; ++i) {  // 17 x 4 KB: more than one 64 KiB frame
    std::string text(4000, static_cast<char>('a' + i));
    kmsg.record("6," + std::to_string(i) + ",1000000,-;" + text + "\n");
    expected += "[    1.000000] " + text + "\n";
  }
  PipeCollector port;
  FrameSink sink(port.write_fd());
  auto usable = forward_kmsg(kmsg.read.get(), sink);
  ASSERT_TRUE(usable.ok());
  EXPECT_TRUE(*usable);
  auto frames = decode_frames(port.finish());
  EXPECT_EQ(frames.size(), 2u);
  for (const auto& f : frames) EXPECT_LE(f.payload.size(), FrameSink::kMaxChunk);
  EXPECT_TRUE(payloads_of(frames, MsgType::kDmesg) == expected) << "DMESG text differs";
}

TEST(Pump, KmsgReadErrorStopsForwarding) {
  PipeCollector port;
  FrameSink sink(port.write_fd());
  UniqueFd not_readable(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  auto usable = forward_kmsg(not_readable.get(), sink);
  ASSERT_TRUE(usable.ok());
  EXPECT_FALSE(*usable);
  EXPECT_TRUE(decode_frames(port.finish()).empty());
}

// Polls until `pid` has exited (still unreaped), up to a deadline.
bool wait_exited_unreaped(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    siginfo_t si{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        si.si_pid == pid)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(Reaper, ReapsOthersButKeepsTheOneAsked) {
  pid_t keep = ::fork();
  if (keep == 0) ::_exit(7);
  pid_t other = ::fork();
  if (other == 0) ::_exit(0);
  ASSERT_TRUE(wait_exited_unreaped(keep));
  ASSERT_TRUE(wait_exited_unreaped(other));

  reap_children_except(keep);
  int ws = 0;
  ASSERT_EQ(::waitpid(keep, &ws, WNOHANG), keep) << "keep was reaped by the reaper";
  EXPECT_EQ(WEXITSTATUS(ws), 7);
  // With `keep` gone, the reaper gets the rest.
  reap_children_except(-1);
  EXPECT_EQ(::waitpid(other, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace ktstr::guest
