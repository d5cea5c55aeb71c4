// Guest-requested kernel reads/writes: every rule, and nothing written on refusal.
#include <gtest/gtest.h>

#include "fake_kernel.h"
#include "freeze/kernel_ops.h"

namespace ktstr::freeze {
namespace {

using test::FakeKernel;
using test::kva;
using wire::KernelOp;
using wire::KernelOpReply;
using wire::KernelOpRequest;
using wire::KernelTarget;

constexpr uint64_t kTask42 = 0x6000, kTask43 = 0x6100;

struct Guest {
  FakeKernel k;
  Guest() {
    k.put(test::kGlobalPa, 0x1122334455667788ull, 8);
    k.put(test::kRunqueuesPa + test::off::kRqClock, 5000, 8);
    k.put(test::kRunqueuesPa + test::kPcpuStride + test::off::kRqClock, 7000, 8);
    k.put(test::kRunqueuesPa + test::kPcpuStride + test::off::kRqNrRunning, 3, 4);
    k.add_task(kTask42, 42);
    k.add_task(kTask43, 43);
    k.put(kTask43 + test::off::kTaskVruntime, 987654, 8);
    k.symbol("no_btf_var", kva(0x7000));
    k.symbol("user_sym", 0x400000);
  }
  KernelOpReply run(KernelOpRequest req, bool frozen = true, guestmem::Access access = guestmem::Access::kReadWrite) {
    if (!booted) {
      k.boot(access);
      booted = true;
    }
    if (req.request_id == 0) req.request_id = 7;
    KernelOpContext ctx{k.space(), k.syms(), k.btf(), k.reader(), frozen};
    return execute_kernel_op(req, ctx);
  }
  bool booted = false;
};

KernelOpRequest read_sym(std::string sym, uint8_t width = 8) {
  return {.op = KernelOp::kRead, .target = KernelTarget::kSymbol, .width = width,
          .symbol = std::move(sym)};
}

TEST(KernelOps, ReadsASymbol) {
  Guest g;
  auto r = g.run(read_sym("scx_counter"));
  EXPECT_EQ(r.status, kOk) << r.reason;
  EXPECT_EQ(r.request_id, 7u);
  EXPECT_EQ(r.value, 0x1122334455667788ull);
  auto low = g.run(read_sym("scx_counter", 2));
  EXPECT_EQ(low.value, 0x7788u);
}

TEST(KernelOps, WritesASymbolWhileFrozen) {
  Guest g;
  KernelOpRequest w = read_sym("scx_counter", 4);
  w.op = KernelOp::kWrite;
  w.value = 0xcafef00d;
  auto r = g.run(w);
  EXPECT_EQ(r.status, kOk) << r.reason;
  EXPECT_EQ(g.k.read_back(test::kGlobalPa, 8), 0x11223344cafef00dull);
}

TEST(KernelOps, ReadsAndWritesAKva) {
  Guest g;
  auto r = g.run({.target = KernelTarget::kKva, .width = 4, .address = kva(test::kGlobalPa + 4)});
  EXPECT_EQ(r.status, kOk) << r.reason;
  EXPECT_EQ(r.value, 0x11223344u);
  auto w = g.run({.op = KernelOp::kWrite, .target = KernelTarget::kKva, .width = 1,
                  .address = kva(test::kGlobalPa), .value = 0x99});
  EXPECT_EQ(w.status, kOk) << w.reason;
  EXPECT_EQ(g.k.read_back(test::kGlobalPa, 1), 0x99u);
}

TEST(KernelOps, PercpuFieldPerCpu) {
  Guest g;
  KernelOpRequest req{.target = KernelTarget::kPercpuField, .width = 8, .cpu = 1,
                      .symbol = "runqueues", .field = "clock"};
  auto r = g.run(req);
  EXPECT_EQ(r.status, kOk) << r.reason;
  EXPECT_EQ(r.value, 7000u);
  req.cpu = 0;
  EXPECT_EQ(g.run(req).value, 5000u);

  KernelOpRequest w{.op = KernelOp::kWrite, .target = KernelTarget::kPercpuField, .width = 4,
                    .cpu = 1, .value = 9, .symbol = "runqueues", .field = "nr_running"};
  EXPECT_EQ(g.run(w).status, kOk);
  EXPECT_EQ(g.k.read_back(test::kRunqueuesPa + test::kPcpuStride, 4), 9u);
  EXPECT_EQ(g.k.read_back(test::kRunqueuesPa, 4), 0u);
}

TEST(KernelOps, PercpuRules) {
  Guest g;
  auto r = g.run({.target = KernelTarget::kPercpuField, .width = 4, .symbol = "runqueues",
                  .field = "clock"});
  EXPECT_EQ(r.status, kInvalid);
  EXPECT_EQ(r.reason, "runqueues[cpu 0].clock is 8 bytes, the request's width is 4");
  r = g.run({.target = KernelTarget::kPercpuField, .width = 8, .cpu = 2, .symbol = "runqueues",
             .field = "clock"});
  EXPECT_EQ(r.status, kOutOfRange);
  EXPECT_NE(r.reason.find("cpu 2"), std::string::npos);
  r = g.run({.target = KernelTarget::kPercpuField, .width = 8, .symbol = "runqueues",
             .field = "nope"});
  EXPECT_EQ(r.status, kNotFound);
  r = g.run({.target = KernelTarget::kPercpuField, .width = 8, .symbol = "no_btf_var",
             .field = "clock"});
  EXPECT_EQ(r.status, kNotFound);
  EXPECT_NE(r.reason.find("no BTF variable 'no_btf_var'"), std::string::npos) << r.reason;
  r = g.run({.target = KernelTarget::kPercpuField, .width = 8, .symbol = "runqueues"});
  EXPECT_EQ(r.status, kInvalid);  // the whole rq is 64 bytes
  EXPECT_NE(r.reason.find("64 bytes"), std::string::npos) << r.reason;
}

TEST(KernelOps, TaskField) {
  Guest g;
  KernelOpRequest req{.target = KernelTarget::kTaskField, .width = 8, .pid = 43,
                      .field = "se.vruntime"};
  auto r = g.run(req);
  EXPECT_EQ(r.status, kOk) << r.reason;
  EXPECT_EQ(r.value, 987654u);
  req.op = KernelOp::kWrite;
  req.pid = 42;
  req.value = 5;
  EXPECT_EQ(g.run(req).status, kOk);
  EXPECT_EQ(g.k.read_back(kTask42 + test::off::kTaskVruntime, 8), 5u);

  req = {.target = KernelTarget::kTaskField, .width = 4, .pid = 0, .field = "pid"};
  EXPECT_EQ(g.run(req).status, kOk);  // init_task
  req.pid = 44;
  r = g.run(req);
  EXPECT_EQ(r.status, kNotFound);
  EXPECT_NE(r.reason.find("pid 44"), std::string::npos);
  req = {.target = KernelTarget::kTaskField, .width = 4, .pid = 42, .field = "in_iowait"};
  r = g.run(req);
  EXPECT_EQ(r.status, kInvalid);
  EXPECT_NE(r.reason.find("bitfield"), std::string::npos);
  req = {.target = KernelTarget::kTaskField, .width = 4, .pid = 42};
  EXPECT_EQ(g.run(req).status, kInvalid);
}

TEST(KernelOps, TaskListLoopIsAFault) {
  Guest g;
  // task 43's next points back at task 42, never returning to init_task.
  g.k.put(kTask43 + test::off::kTaskTasks, kva(kTask42 + test::off::kTaskTasks), 8);
  auto r = g.run({.target = KernelTarget::kTaskField, .width = 8, .pid = 99,
                  .field = "se.vruntime"});
  EXPECT_EQ(r.status, kFault);
  EXPECT_NE(r.reason.find("loops"), std::string::npos) << r.reason;
}

TEST(KernelOps, TaskListIntoNowhereIsAFault) {
  Guest g;
  g.k.put(kTask43 + test::off::kTaskTasks, test::kOutsideRam, 8);
  auto r = g.run({.target = KernelTarget::kTaskField, .width = 8, .pid = 99,
                  .field = "se.vruntime"});
  EXPECT_EQ(r.status, kFault) << r.reason;
  EXPECT_NE(r.reason.find("task_struct"), std::string::npos) << r.reason;
}

// Each hostile request is refused with its status, and guest RAM is unchanged.
TEST(KernelOps, HostileRequestsWriteNothing) {
  struct Case {
    const char* what;
    KernelOpRequest req;
    bool frozen;
    uint32_t status;
  };
  const uint64_t global = kva(test::kGlobalPa);
  auto write_kva = [](uint64_t address, uint8_t width, uint64_t value = 1) {
    return KernelOpRequest{.op = KernelOp::kWrite, .target = KernelTarget::kKva, .width = width,
                           .address = address, .value = value};
  };
  KernelOpRequest huge_tag = write_kva(global, 8);
  huge_tag.tag.assign(1u << 20, 'x');
  KernelOpRequest unknown_sym = read_sym("no_such_symbol");
  unknown_sym.op = KernelOp::kWrite;
  KernelOpRequest user_sym = read_sym("user_sym");
  user_sym.op = KernelOp::kWrite;
  KernelOpRequest bad_op = write_kva(global, 8);
  bad_op.op = static_cast<KernelOp>(9);
  KernelOpRequest bad_target = write_kva(global, 8);
  bad_target.target = static_cast<KernelTarget>(9);
  KernelOpRequest kva_field = write_kva(global, 8);
  kva_field.field = "x";
  const Case cases[] = {
      {"address outside RAM", write_kva(test::kOutsideRam, 8), true, kOutOfRange},
      {"user-half KVA", write_kva(0x1000, 8), true, kInvalid},
      {"user-half symbol", user_sym, true, kInvalid},
      {"width 3", write_kva(global, 3), true, kInvalid},
      {"width 0", write_kva(global, 0), true, kInvalid},
      {"width 16", write_kva(global, 16), true, kInvalid},
      {"unaligned", write_kva(global + 4, 8), true, kInvalid},
      {"1 MiB tag", huge_tag, true, kInvalid},
      {"not frozen", write_kva(global, 8), false, kNotFrozen},
      {"value too wide", write_kva(global, 2, 0x10000), true, kInvalid},
      {"unknown symbol", unknown_sym, true, kNotFound},
      {"unknown op", bad_op, true, kInvalid},
      {"unknown target", bad_target, true, kInvalid},
      {"kva with field", kva_field, true, kInvalid},
      {"non-canonical hole", write_kva(0x0000800000000000ull, 8), true, kInvalid},
  };
  Guest g;
  g.run(read_sym("scx_counter"));  // boot
  const uint64_t before = g.k.checksum();
  for (const auto& c : cases) {
    auto r = g.run(c.req, c.frozen);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.reason;
    EXPECT_FALSE(r.reason.empty()) << c.what;
    EXPECT_LT(r.reason.size(), 300u) << c.what;
    EXPECT_EQ(r.value, 0u) << c.what;
  }
  EXPECT_EQ(g.k.checksum(), before);
}

TEST(KernelOps, RefusalReasonsSayWhatIsWrong) {
  Guest g;
  auto r = g.run({.op = KernelOp::kWrite, .target = KernelTarget::kKva, .width = 8,
                  .address = kva(test::kGlobalPa)}, false);
  EXPECT_EQ(r.reason, "writes need the VM frozen");
  r = g.run({.target = KernelTarget::kKva, .width = 3, .address = kva(test::kGlobalPa)});
  EXPECT_EQ(r.reason, "width 3 is not 1, 2, 4 or 8");
  r = g.run({.target = KernelTarget::kKva, .width = 8, .address = kva(test::kGlobalPa) + 2});
  EXPECT_EQ(r.reason, "address 0xffff888000005002 is not aligned to 8 bytes");
  KernelOpRequest t = read_sym("scx_counter");
  t.tag.assign(257, 't');
  EXPECT_EQ(g.run(t).reason, "tag is 257 bytes, at most 256 allowed");
}

TEST(KernelOps, ReadsWorkWhileRunning) {
  Guest g;
  auto r = g.run(read_sym("scx_counter"), /*frozen=*/false);
  EXPECT_EQ(r.status, kOk) << r.reason;
}

TEST(KernelOps, WriteToReadOnlyMemoryIsAFault) {
  Guest g;
  KernelOpRequest w = read_sym("scx_counter");
  w.op = KernelOp::kWrite;
  auto r = g.run(w, true, guestmem::Access::kReadOnly);
  EXPECT_EQ(r.status, kFault);
  EXPECT_EQ(g.k.read_back(test::kGlobalPa, 8), 0x1122334455667788ull);
}

}  // namespace
}  // namespace ktstr::freeze
