#include "ksyms/btf.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "test_btf.h"
#include "util/temp_dir.h"

namespace ktstr::ksyms {
namespace {

using test::build_test_btf;
using test::TestBtf;

class KernelBtfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    types_ = build_test_btf();
    auto loaded = KernelBtf::from_bytes(types_.bytes);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message();
    btf_ = std::move(loaded).value();
  }

  FieldInfo field(std::string_view path) {
    auto f = btf_.field("outer", path);
    EXPECT_TRUE(f.ok()) << path << ": " << f.error().message();
    return f.ok() ? *f : FieldInfo{};
  }

  TestBtf types_;
  KernelBtf btf_;
};

TEST_F(KernelBtfTest, TopLevelMembers) {
  FieldInfo a = field("a");
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(a.size, 4u);
  EXPECT_EQ(a.bit_size, 0u);
  EXPECT_EQ(a.type_id, uint32_t(types_.int_t));
  FieldInfo ptr = field("ptr");
  EXPECT_EQ(ptr.offset, 112u);
  EXPECT_EQ(ptr.size, 8u);
  FieldInfo st = field("st");
  EXPECT_EQ(st.offset, 92u);
  EXPECT_EQ(st.size, 4u);
}

TEST_F(KernelBtfTest, NestedMembersAccumulateOffsets) {
  FieldInfo nr = field("in.nr");
  EXPECT_EQ(nr.offset, 16u);
  EXPECT_EQ(nr.size, 8u);
  EXPECT_EQ(nr.type_id, uint32_t(types_.u64_t));  // typedef kept
  EXPECT_EQ(btf_.resolve(nr.type_id), uint32_t(types_.u64_base));
  EXPECT_EQ(field("in.arr").size, 16u);
}

TEST_F(KernelBtfTest, AnonymousUnionAndStructAreSearchedThrough) {
  EXPECT_EQ(field("u_b").offset, 8u);
  EXPECT_EQ(field("lo").offset, 8u);
  FieldInfo hi = field("hi");
  EXPECT_EQ(hi.offset, 12u);
  EXPECT_EQ(hi.size, 4u);
}

TEST_F(KernelBtfTest, ArrayIndexes) {
  FieldInfo e = field("in.arr[2]");
  EXPECT_EQ(e.offset, 16u + 8 + 2 * 4);
  EXPECT_EQ(e.size, 4u);
  EXPECT_EQ(e.type_id, uint32_t(types_.int_t));
  FieldInfo deep = field("ins[1].arr[3]");
  EXPECT_EQ(deep.offset, 40u + 24 + 8 + 12);
  EXPECT_EQ(field("ins[1]").size, 24u);
  EXPECT_EQ(field("ins[0].nr").offset, 40u);
}

TEST_F(KernelBtfTest, Bitfields) {
  FieldInfo bf1 = field("bf1");
  EXPECT_EQ(bf1.offset, 88u);
  EXPECT_EQ(bf1.bit_offset, 0u);
  EXPECT_EQ(bf1.bit_size, 3u);
  EXPECT_EQ(bf1.size, 4u);
  FieldInfo bf2 = field("bf2");
  EXPECT_EQ(bf2.offset, 88u);
  EXPECT_EQ(bf2.bit_offset, 3u);
  EXPECT_EQ(bf2.bit_size, 5u);
  FieldInfo sbf = field("sbf");
  EXPECT_EQ(sbf.offset, 120u);
  EXPECT_EQ(sbf.bit_size, 4u);
}

TEST_F(KernelBtfTest, MissingMembersNameThePathAndStruct) {
  auto top = btf_.field("outer", "zzz");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().code(), Errc::kNotFound);
  EXPECT_EQ(top.error().message(), "struct outer has no member 'zzz'");

  auto nested = btf_.field("outer", "in.nrx");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().code(), Errc::kNotFound);
  EXPECT_EQ(nested.error().message(),
            "struct outer has no member 'in.nrx' (struct inner has no 'nrx')");

  auto no_struct = btf_.field("nosuch", "a");
  ASSERT_FALSE(no_struct.ok());
  EXPECT_EQ(no_struct.error().code(), Errc::kNotFound);
  EXPECT_NE(no_struct.error().message().find("nosuch"), std::string::npos);
}

TEST_F(KernelBtfTest, BadPathsAreInvalidArguments) {
  for (const char* path : {"", "in..nr", ".a", "a.", "in.arr[x]", "in.arr[", "in.arr[]",
                           "in.arr[1]x", "in.arr[1234567890]"}) {
    auto f = btf_.field("outer", path);
    ASSERT_FALSE(f.ok()) << path;
    EXPECT_EQ(f.error().code(), Errc::kInvalidArgument) << path;
    EXPECT_NE(f.error().message().find("bad member path"), std::string::npos)
        << f.error().message();
  }
  auto not_struct = btf_.field("outer", "a.b");
  ASSERT_FALSE(not_struct.ok());
  EXPECT_EQ(not_struct.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(not_struct.error().message(), "struct outer: 'a' is int, not a struct or union");

  auto out_of_range = btf_.field("outer", "in.arr[4]");
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.error().message(),
            "struct outer: index 4 out of range in 'in.arr[4]' (4 elements)");

  auto not_array = btf_.field("outer", "a[0]");
  ASSERT_FALSE(not_array.ok());
  EXPECT_EQ(not_array.error().code(), Errc::kInvalidArgument);
}

TEST_F(KernelBtfTest, StructLookups) {
  EXPECT_EQ(*btf_.struct_size("outer"), 128u);
  EXPECT_EQ(*btf_.struct_size("struct inner"), 24u);
  EXPECT_EQ(*btf_.struct_id("outer"), uint32_t(types_.outer));
  EXPECT_FALSE(btf_.struct_id("void").ok());
  EXPECT_FALSE(btf_.struct_id("int").ok());
  EXPECT_FALSE(btf_.struct_id("").ok());
  auto of = btf_.field_of(types_.inner, "arr[1]");
  ASSERT_TRUE(of.ok());
  EXPECT_EQ(of->offset, 12u);
  EXPECT_FALSE(btf_.field_of(types_.int_t, "x").ok());
  EXPECT_FALSE(btf_.field_of(99999, "x").ok());
}

TEST_F(KernelBtfTest, EnumValues) {
  EXPECT_EQ(btf_.enum_value("ST_RUN"), 1);
  EXPECT_EQ(btf_.enum_value("ST_NEG"), -2);
  EXPECT_EQ(btf_.enum_value("BIG_LOW"), 7);
  EXPECT_EQ(btf_.enum_value("BIG_HI"), INT64_MIN);  // 1 << 63 as the bits of an int64
  EXPECT_EQ(btf_.enum_value("NOPE"), std::nullopt);
}

TEST_F(KernelBtfTest, TypeNamesAndSizes) {
  EXPECT_EQ(btf_.type_name(types_.outer), "struct outer");
  EXPECT_EQ(btf_.type_name(types_.u64_t), "u64");
  EXPECT_EQ(btf_.type_name(types_.int4), "int[4]");
  EXPECT_EQ(btf_.type_name(types_.int2x4), "int[2][4]");
  EXPECT_EQ(btf_.type_name(types_.inner_ptr), "struct inner *");
  EXPECT_EQ(btf_.type_name(types_.anon_union), "union <anon>");
  EXPECT_EQ(btf_.type_name(types_.state), "enum state");
  EXPECT_EQ(btf_.type_name(types_.const_int), "const int");
  EXPECT_EQ(btf_.type_name(types_.proto_ptr), "int(int) *");
  EXPECT_EQ(btf_.type_name(0), "void");
  EXPECT_EQ(btf_.type_name(99999), "<bad type 99999>");
  EXPECT_EQ(*btf_.type_size(types_.u64_t), 8u);
  EXPECT_EQ(*btf_.type_size(types_.int2x4), 32u);
  EXPECT_EQ(*btf_.type_size(types_.inner_ptr), 8u);
  EXPECT_FALSE(btf_.type_size(types_.fwd).ok());
  EXPECT_FALSE(btf_.type_size(99999).ok());
  EXPECT_EQ(btf_.resolve(types_.const_int), uint32_t(types_.int_t));
  EXPECT_EQ(btf_.resolve(99999), 0u);
}

TEST_F(KernelBtfTest, LoadsRawFileAndReportsMissingFile) {
  auto made = TempDir::create("ksyms-btf");
  ASSERT_TRUE(made.ok()) << made.error().message();
  TempDir dir = std::move(made).value();
  auto path = dir.path() / "test.btf";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(types_.bytes.data()),
             std::streamsize(types_.bytes.size()));
  auto loaded = KernelBtf::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(*loaded->struct_size("outer"), 128u);

  auto missing = KernelBtf::load(dir.path() / "nope.btf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_NE(missing.error().message().find("nope.btf"), std::string::npos);
}

TEST(KernelBtfHostile, EmptyAndOversizedBlobsAreRefused) {
  EXPECT_FALSE(KernelBtf::from_bytes({}).ok());
  std::vector<uint8_t> huge((64u << 20) + 1);
  auto r = KernelBtf::from_bytes(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kProtocol);
}

TEST(KernelBtfHostile, TruncatedBlobsFailCleanly) {
  TestBtf t = build_test_btf();
  for (size_t n = 1; n < t.bytes.size(); ++n) {
    auto r = KernelBtf::from_bytes(std::span(t.bytes).first(n));
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(KernelBtfHostile, RandomBytesFailCleanly) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 500; ++i) {
    // At least 2 bytes, so the magic below always fits.
    std::vector<uint8_t> junk(2 + rng() % 511);
    for (auto& byte : junk) byte = uint8_t(rng());
    if (i % 2) {  // a valid magic so libbpf looks further
      junk[0] = 0x9f;
      junk[1] = 0xeb;
    }
    EXPECT_FALSE(KernelBtf::from_bytes(junk).ok());
  }
}

// Dangling ids and name offsets inside an otherwise well-formed blob:
// libbpf 1.1 does not check them, so every lookup must.
TEST(KernelBtfHostile, MutatedTypesNeverCrashLookups) {
  TestBtf t = build_test_btf();
  std::mt19937 rng(99);
  uint32_t type_off = 24;  // right after the fixed-size header
  uint32_t type_len;
  std::memcpy(&type_len, &t.bytes[12], 4);
  int parsed = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> bytes = t.bytes;
    for (int flips = 0; flips < 4; ++flips) bytes[type_off + rng() % type_len] = uint8_t(rng());
    auto r = KernelBtf::from_bytes(bytes);
    if (!r.ok()) continue;
    ++parsed;
    for (uint32_t id = 0; id < 80; ++id) {
      (void)r->type_name(id);
      (void)r->type_size(id);
      (void)r->resolve(id);
      (void)r->field_of(id, "ins[1].arr[3]");
      (void)r->field_of(id, "hi");
    }
    (void)r->field("outer", "in.nr");
    (void)r->enum_value("ST_RUN");
  }
  EXPECT_GT(parsed, 0);  // the mutations must reach the lookups at all
}

// The cached guest kernel: the layout ktstr's metrics rely on.
TEST(KernelBtfReal, GuestKernelLayout) {
  const char* home = std::getenv("HOME");
  std::filesystem::path kernels = std::filesystem::path(home ? home : "/") / ".cache/ktstr/kernels";
  std::filesystem::path vmlinux;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kernels, ec))
    if (std::filesystem::exists(entry.path() / "vmlinux.btf")) vmlinux = entry.path() / "vmlinux.btf";
  if (vmlinux.empty()) GTEST_SKIP() << "no vmlinux.btf under " << kernels;

  auto loaded = KernelBtf::load(vmlinux);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  const KernelBtf& btf = *loaded;
  for (const char* path : {"scx.local_dsq.nr", "nr_running", "clock", "scx.flags"}) {
    auto f = btf.field("rq", path);
    ASSERT_TRUE(f.ok()) << f.error().message();
    EXPECT_GT(f->size, 0u) << path;
  }
  EXPECT_EQ(btf.field("rq", "nr_running")->offset, 0u);
  EXPECT_EQ(btf.field("rq", "scx.flags")->size, 4u);
  EXPECT_GT(*btf.struct_size("rq"), 0u);
  EXPECT_EQ(btf.enum_value("SCX_ENABLED"), 1);
  auto name = btf.field("bpf_map", "name");
  ASSERT_TRUE(name.ok()) << name.error().message();
  EXPECT_EQ(name->size, 16u);  // BPF_OBJ_NAME_LEN
  auto missing = btf.field("rq", "scx.local_dsq.nrx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message().rfind("struct rq has no member 'scx.local_dsq.nrx'", 0), 0u);
}

}  // namespace
}  // namespace ktstr::ksyms
