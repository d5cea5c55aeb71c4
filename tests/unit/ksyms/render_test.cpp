#include "ksyms/render.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "test_btf.h"

namespace ktstr::ksyms {
namespace {

using json = nlohmann::json;
using test::build_test_btf;
using test::must;
using test::put;
using test::TestBtf;

const std::string kMore = "\xe2\x80\xa6";

KernelBtf load(const std::vector<uint8_t>& bytes) {
  auto r = KernelBtf::from_bytes(bytes);
  if (!r.ok()) throw std::runtime_error(r.error().message());
  return std::move(r).value();
}

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    types_ = build_test_btf();
    btf_ = load(types_.bytes);
  }

  // struct outer filled with one value per member.
  std::vector<uint8_t> outer_bytes() {
    std::vector<uint8_t> buf(128);
    put<int32_t>(buf, 0, -5);
    put<uint64_t>(buf, 8, 0x0000000200000001ull);
    put<uint64_t>(buf, 16, uint64_t(1) << 60);
    for (int i = 0; i < 4; ++i) put<int32_t>(buf, 24 + 4 * i, i == 1 ? -2 : i + 1);
    put<uint64_t>(buf, 40, 10);
    put<uint64_t>(buf, 64, 11);
    put<uint32_t>(buf, 88, 5u | 17u << 3);  // bf1 = 5, bf2 = 17
    put<uint32_t>(buf, 92, 1);              // ST_RUN
    std::memcpy(&buf[96], "hello", 5);
    put<uint64_t>(buf, 112, 0xffff888012345678ull);
    buf[120] = 0b1101;  // sbf = -3 in 4 bits
    buf[124] = 1;
    return buf;
  }

  json ok_render(uint32_t id, const std::vector<uint8_t>& bytes, const RenderLimits& limits = {}) {
    auto r = render(btf_, id, bytes, limits);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : json();
  }

  TestBtf types_;
  KernelBtf btf_;
};

TEST_F(RenderTest, StructWithEveryMemberShape) {
  json j = ok_render(types_.outer, outer_bytes());
  json expected = {
      {"a", -5},
      {"u_b", 0x0000000200000001ull},
      {"lo", 1},
      {"hi", 2},
      {"in", {{"nr", uint64_t(1) << 60}, {"arr", {1, -2, 3, 4}}}},
      {"ins", {{{"nr", 10}, {"arr", {0, 0, 0, 0}}}, {{"nr", 11}, {"arr", {0, 0, 0, 0}}}}},
      {"bf1", 5},
      {"bf2", 17},
      {"st", "ST_RUN"},
      {"name", "hello"},
      {"ptr", "0xffff888012345678"},
      {"sbf", -3},
      {"flag", true},
  };
  EXPECT_EQ(j, expected) << j.dump(2);
  EXPECT_EQ(j["in"]["nr"].get<uint64_t>(), uint64_t(1) << 60);  // above 2^53, exact
}

TEST_F(RenderTest, ScalarKinds) {
  std::vector<uint8_t> buf(72);
  put<int16_t>(buf, 0, -2);
  put<int8_t>(buf, 2, -1);
  put<int32_t>(buf, 4, -7);
  float f = 1.5f;
  double d = -2.25;
  std::memcpy(&buf[8], &f, 4);
  std::memcpy(&buf[16], &d, 8);
  for (int i = 0; i < 16; ++i) buf[24 + i] = uint8_t(i + 1);
  put<uint64_t>(buf, 40, 0x1234);
  put<uint64_t>(buf, 56, uint64_t(1) << 63);
  put<uint32_t>(buf, 64, 42);  // no such enumerator
  json j = ok_render(types_.kinds, buf);
  EXPECT_EQ(j["s16"], -2);
  EXPECT_EQ(j["s8"], -1);
  EXPECT_EQ(j["flag"], false);
  EXPECT_EQ(j["c"], -7);
  EXPECT_EQ(j["f"].get<double>(), 1.5);
  EXPECT_EQ(j["d"].get<double>(), -2.25);
  EXPECT_EQ(j["wide"], "0x100f0e0d0c0b0a090807060504030201");
  EXPECT_EQ(j["opaque"], "0x1234");
  EXPECT_EQ(j["fn"], "0x0");
  EXPECT_EQ(j["bg"], "BIG_HI");
  EXPECT_EQ(j["st"], 42);

  put<int32_t>(buf, 64, -2);
  EXPECT_EQ(ok_render(types_.kinds, buf)["st"], "ST_NEG");
}

TEST_F(RenderTest, TopLevelKinds) {
  std::vector<uint8_t> eight(8);
  put<int32_t>(eight, 0, -9);
  EXPECT_EQ(ok_render(types_.int_t, eight), -9);
  EXPECT_EQ(ok_render(types_.const_int, eight), -9);
  EXPECT_EQ(ok_render(types_.fwd, {}), "<opaque>");
  EXPECT_EQ(ok_render(types_.proto, {}), "<function>");
  put<uint64_t>(eight, 0, 77);
  EXPECT_EQ(ok_render(types_.var_counter, eight), 77);
}

TEST_F(RenderTest, DatasecRendersVariablesByName) {
  std::vector<uint8_t> bss(24);
  put<uint64_t>(bss, 0, 77);
  std::memcpy(&bss[8], "bss!", 4);
  json j = ok_render(types_.bss, bss);
  EXPECT_EQ(j, (json{{"counter", 77}, {"label", "bss!"}})) << j.dump();
}

TEST_F(RenderTest, CharArrays) {
  std::vector<uint8_t> buf(16, 'a');
  EXPECT_EQ(ok_render(types_.char16, buf), std::string(16, 'a'));  // no NUL: all of it
  buf.assign(16, 0);
  EXPECT_EQ(ok_render(types_.char16, buf), "");
  std::memcpy(buf.data(), "h\xc3\xa9!", 4);  // UTF-8 é
  EXPECT_EQ(ok_render(types_.char16, buf), "h\xc3\xa9!");
  buf.assign(16, 0);
  buf[0] = 1;
  buf[1] = 0xff;
  json list = ok_render(types_.char16, buf);
  ASSERT_TRUE(list.is_array()) << list.dump();
  EXPECT_EQ(list.size(), 16u);
  EXPECT_EQ(list[0], 1);
  EXPECT_EQ(list[1], -1);  // char is signed here
}

TEST_F(RenderTest, ArrayLimitMarksTheRest) {
  std::vector<uint8_t> buf(16);
  put<int32_t>(buf, 0, 1);
  put<int32_t>(buf, 4, 2);
  RenderLimits limits;
  limits.max_array_elems = 2;
  EXPECT_EQ(ok_render(types_.int4, buf, limits), (json{1, 2, {{kMore, 2}}}));
}

TEST_F(RenderTest, DepthLimit) {
  RenderLimits limits;
  limits.max_depth = 1;
  json j = ok_render(types_.outer, outer_bytes(), limits);
  EXPECT_EQ(j["a"], -5);
  EXPECT_EQ(j["hi"], 2);  // anonymous members are flattened, no extra depth
  EXPECT_EQ(j["in"], kMore);
  EXPECT_EQ(j["ins"], kMore);
}

TEST_F(RenderTest, NodeLimit) {
  RenderLimits limits;
  limits.max_nodes = 4;
  json j = ok_render(types_.outer, outer_bytes(), limits);
  ASSERT_TRUE(j.contains(kMore)) << j.dump();
  EXPECT_GT(j[kMore].get<int>(), 0);
  EXPECT_LT(j.size(), 8u);
}

TEST_F(RenderTest, Errors) {
  std::vector<uint8_t> short_buf(127);
  auto r = render(btf_, types_.outer, short_buf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "render: struct outer needs 128 bytes, got 127");
  EXPECT_FALSE(render(btf_, 99999, short_buf).ok());
  EXPECT_FALSE(render(btf_, 0, short_buf).ok());
  EXPECT_FALSE(render(KernelBtf(), 1, short_buf).ok());
}

// Member offsets past the type size, dangling ids, self-containing structs
// and absurd arrays: rendered as markers, never read out of bounds.
TEST(RenderHostile, LiesInTheBtfStayInsideTheBytes) {
  btf* b = btf__new_empty();
  int int_t = must(btf__add_int(b, "int", 4, BTF_INT_SIGNED), "int");
  int huge = must(btf__add_array(b, int_t, int_t, 1000000), "int[1000000]");
  int evil = btf__type_cnt(b);
  must(btf__add_struct(b, "evil", 4), "evil");
  must(btf__add_field(b, "x", int_t, 0, 0), "x");
  must(btf__add_field(b, "far", int_t, 8000, 0), "far");
  must(btf__add_field(b, "far_bits", int_t, 8000, 3), "far_bits");
  must(btf__add_field(b, "dangling", 9999, 0, 0), "dangling");
  must(btf__add_field(b, "self", evil, 0, 0), "self");
  must(btf__add_field(b, "many", huge, 0, 0), "many");
  int var = must(btf__add_var(b, "v", BTF_VAR_GLOBAL_ALLOCATED, int_t), "var");
  int sec = must(btf__add_datasec(b, ".data", 8), ".data");
  must(btf__add_datasec_var_info(b, var, 100, 4), "info");
  uint32_t size = 0;
  auto* raw = static_cast<const uint8_t*>(btf__raw_data(b, &size));
  std::vector<uint8_t> bytes(raw, raw + size);
  btf__free(b);
  KernelBtf btf = load(bytes);

  std::vector<uint8_t> four = {7, 0, 0, 0};
  auto r = render(btf, evil, four);
  ASSERT_TRUE(r.ok()) << r.error().message();
  json j = *r;
  EXPECT_EQ(j["x"], 7);
  EXPECT_EQ(j["far"], "<out of bounds at 1000>");
  EXPECT_EQ(j["far_bits"], "<out of bounds at 1000>");
  EXPECT_EQ(j["dangling"], "<void>");
  EXPECT_TRUE(j["self"].is_object());  // nests until the depth limit
  ASSERT_TRUE(j["many"].is_array());
  EXPECT_EQ(j["many"][0], 7);
  EXPECT_EQ(j["many"][1], "<out of bounds at 4>");
  EXPECT_EQ(j["many"][2], (json{{kMore, 999998}}));

  std::vector<uint8_t> eight(8);
  auto data = render(btf, sec, eight);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ((*data)["v"], "<out of bounds at 100>");
}

TEST(RenderHostile, MutatedBtfRendersEveryTypeWithoutCrashing) {
  TestBtf t = build_test_btf();
  std::mt19937 rng(7);
  uint32_t type_len;
  std::memcpy(&type_len, &t.bytes[12], 4);
  std::vector<uint8_t> zeros(4096);
  int parsed = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> bytes = t.bytes;
    for (int flips = 0; flips < 4; ++flips) bytes[24 + rng() % type_len] = uint8_t(rng());
    auto r = KernelBtf::from_bytes(bytes);
    if (!r.ok()) continue;
    ++parsed;
    RenderLimits limits;
    limits.max_nodes = 2000;
    for (uint32_t id = 1; id < 80; ++id) (void)render(*r, id, zeros, limits);
  }
  EXPECT_GT(parsed, 0);
}

TEST(Render, CountNodesCountsEveryValue) {
  EXPECT_EQ(count_nodes(nlohmann::json(7)), 1u);
  EXPECT_EQ(count_nodes(nlohmann::json::parse(R"({"a": [1, 2], "b": {"c": null}})")), 6u);
}

}  // namespace
}  // namespace ktstr::ksyms
