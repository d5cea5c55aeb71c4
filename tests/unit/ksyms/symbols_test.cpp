#include "ksyms/symbols.h"

#include <gtest/gtest.h>

#include <zstd.h>

#include <cstdio>
#include <string>

namespace ktstr::ksyms {
namespace {

using namespace std::string_literals;

TEST(SymbolTable, ParsesGoodLines) {
  ParseStats st;
  auto t = SymbolTable::parse_kallsyms(
      "ffffffff81000000 T _text\n"
      "ffffffff81000000 T startup_64\r\n"
      "ffffffff82a00000 D runqueues\n"
      "FFFFFFFF82B00000 d scx_root\n"
      "0000000000000000 A fixed_percpu_data\n"
      "\n   \n"
      "ffffffff83000000 b last_one",  // no trailing newline
      &st);
  EXPECT_EQ(t.size(), 6u);
  EXPECT_EQ(t.find("_text"), 0xffffffff81000000ull);
  EXPECT_EQ(t.find("startup_64"), 0xffffffff81000000ull);  // CR stripped
  EXPECT_EQ(t.find("runqueues"), 0xffffffff82a00000ull);
  EXPECT_EQ(t.find("scx_root"), 0xffffffff82b00000ull);
  EXPECT_EQ(t.find("fixed_percpu_data"), 0u);
  EXPECT_EQ(t.find("last_one"), 0xffffffff83000000ull);
  EXPECT_EQ(t.find("nope"), std::nullopt);
  EXPECT_EQ(st.lines, 6u);
  EXPECT_EQ(st.symbols, 6u);
  EXPECT_EQ(st.skipped, 0u);
  EXPECT_TRUE(st.first_bad_line.empty());
}

TEST(SymbolTable, CountsEveryBadLineKind) {
  std::string giant(1 << 20, 'x');
  std::string text = "ffffffff81000000 T good\n"s +
                     "ffffffff81000000 T\n" +                       // missing name
                     "ffffffff81000000\n" +                         // missing type and name
                     "zzzzzzzzzzzzzzzz T bad_hex\n" +               // non-hex address
                     "1ffffffff81000000 T too_many_digits\n" +      // 17 hex digits
                     "ffffffff81000000 TT long_type\n" +            // type is not one char
                     "ffffffff81000000 T " + std::string(513, 'n') + "\n" +  // overlong name
                     "ffffffff81000000 T nul\0byte\n"s +            // NUL inside
                     "ffffffff81000000 T a b c\n" +                 // too many fields
                     "ffffffff81000000 T name notamodule\n" +       // 4th field not [mod]
                     giant + "\n" +                                 // one giant line
                     "ffffffff81000010 T also_good\n";
  ParseStats st;
  auto t = SymbolTable::parse_kallsyms(text, &st);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(st.lines, 12u);
  EXPECT_EQ(st.symbols, 2u);
  EXPECT_EQ(st.skipped, 10u);
  EXPECT_EQ(st.first_bad_line, "ffffffff81000000 T");
  EXPECT_EQ(t.find("also_good"), 0xffffffff81000010ull);
  EXPECT_EQ(t.find(std::string(513, 'n')), std::nullopt);
  // A 512-byte name is still fine.
  auto edge = SymbolTable::parse_kallsyms("1 T " + std::string(512, 'n'));
  EXPECT_EQ(edge.size(), 1u);
}

TEST(SymbolTable, BadLineNoteIsShortAndPrintable) {
  ParseStats st;
  SymbolTable::parse_kallsyms("\x01\x02 " + std::string(500, 'q') + "\n", &st);
  EXPECT_EQ(st.skipped, 1u);
  EXPECT_EQ(st.first_bad_line.size(), 120u);
  EXPECT_EQ(st.first_bad_line.substr(0, 3), "?? ");
}

TEST(SymbolTable, ModuleSymbolsAreSkippedAndFirstDuplicateWins) {
  ParseStats st;
  auto t = SymbolTable::parse_kallsyms(
      "ffffffff81000000 T dup\n"
      "ffffffffc0000000 t mod_only\t[kvm]\n"
      "ffffffffc0001000 t dup\t[kvm]\n"
      "ffffffff81000100 T dup\n",
      &st);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find("dup"), 0xffffffff81000000ull);
  EXPECT_EQ(t.find("mod_only"), std::nullopt);
  EXPECT_EQ(st.module_symbols, 2u);
  EXPECT_EQ(st.duplicates, 1u);
  EXPECT_EQ(st.skipped, 0u);
}

TEST(SymbolTable, SystemMapAddsKaslrOffsetWrapping) {
  auto t = SymbolTable::parse_system_map(
      "ffffffff81000000 T _text\nfffffffffffff000 T top\n", 0x2000, nullptr);
  EXPECT_EQ(t.find("_text"), 0xffffffff81002000ull);
  EXPECT_EQ(t.find("top"), 0x1000ull);  // wraps, as unsigned arithmetic does
}

TEST(SymbolTable, PerCpuSymbolsDoNotMoveWithKaslr) {
  auto t = SymbolTable::parse_system_map(
      "0000000000032c40 D runqueues\nffffffff81000000 T _text\n", 0x2000, nullptr);
  EXPECT_EQ(t.find("runqueues"), 0x32c40ull);
  EXPECT_EQ(t.find("_text"), 0xffffffff81002000ull);
}

TEST(SymbolTable, SystemMapRoundTripsThroughTheKaslrOffset) {
  auto runtime = SymbolTable::parse_kallsyms(
      "ffffffff95000000 T _text\n0000000000032c40 D runqueues\nffffffff96000010 D jiffies\n");
  const uint64_t offset = 0x14000000;
  std::string map = runtime.to_system_map(offset);
  EXPECT_NE(map.find("ffffffff81000000 ? _text\n"), std::string::npos) << map;
  EXPECT_NE(map.find("0000000000032c40 ? runqueues\n"), std::string::npos) << map;
  auto back = SymbolTable::parse_system_map(map, offset);
  EXPECT_EQ(back.find("_text"), runtime.find("_text"));
  EXPECT_EQ(back.find("runqueues"), runtime.find("runqueues"));
  EXPECT_EQ(back.find("jiffies"), runtime.find("jiffies"));
  EXPECT_EQ(back.size(), 3u);
}

TEST(SymbolTable, RequireNamesSymbolAndCount) {
  auto t = SymbolTable::parse_kallsyms("1 T a\n2 T b\n");
  EXPECT_EQ(*t.require("b"), 2u);
  auto missing = t.require("scx_root");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_EQ(missing.error().message(), "kernel symbol 'scx_root' not found (2 symbols known)");
  EXPECT_TRUE(SymbolTable().empty());
}

TEST(SymbolTable, ZstdRoundTrip) {
  std::string text;
  char line[64];
  for (int i = 0; i < 20000; ++i) {
    std::snprintf(line, sizeof line, "%016llx T sym_%d\n", 0xffffffff81000000ull + 16ull * i, i);
    text += line;
  }
  auto blob = compress_kallsyms(text);
  ASSERT_TRUE(blob.ok()) << blob.error().message();
  EXPECT_LT(blob->size(), text.size());
  ParseStats st;
  auto t = SymbolTable::from_compressed_kallsyms(*blob, 64u << 20, &st);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->size(), 20000u);
  EXPECT_EQ(st.symbols, 20000u);
  EXPECT_EQ(t->find("sym_0"), 0xffffffff81000000ull);
  EXPECT_EQ(t->find("sym_19999"), 0xffffffff81000000ull + 16 * 19999);
  // Exactly at the bound is fine.
  EXPECT_TRUE(SymbolTable::from_compressed_kallsyms(*blob, text.size()).ok());
}

TEST(SymbolTable, ConcatenatedFramesDecompress) {
  auto one = *compress_kallsyms("1 T a\n");
  auto two = *compress_kallsyms("2 T b\n");
  one.insert(one.end(), two.begin(), two.end());
  auto t = SymbolTable::from_compressed_kallsyms(one);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->size(), 2u);
}

TEST(SymbolTable, ZstdBombOverTheBoundFails) {
  // 32 MiB of one repeated line compresses to a few KiB.
  std::string line = "ffffffff81000000 T x\n";
  std::string big;
  big.reserve(32u << 20);
  while (big.size() < (32u << 20)) big += line;
  auto blob = compress_kallsyms(big);
  ASSERT_TRUE(blob.ok());
  ASSERT_LT(blob->size(), 64u << 10);
  auto t = SymbolTable::from_compressed_kallsyms(*blob, 1u << 20);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code(), Errc::kProtocol);
  EXPECT_NE(t.error().message().find("1048576"), std::string::npos) << t.error().message();

  // Many small frames, each within the window, together over the bound.
  auto small = *compress_kallsyms(std::string(60000, '\n'));
  std::vector<uint8_t> frames;
  for (int i = 0; i < 40; ++i) frames.insert(frames.end(), small.begin(), small.end());
  auto many = SymbolTable::from_compressed_kallsyms(frames, 1u << 20);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().message(), "KALLSYMS blob decompresses to more than 1048576 bytes");
}

TEST(SymbolTable, CorruptBlobsFail) {
  auto blob = *compress_kallsyms("ffffffff81000000 T _text\n");
  EXPECT_FALSE(SymbolTable::from_compressed_kallsyms({}).ok());
  std::vector<uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8};
  auto bad = SymbolTable::from_compressed_kallsyms(junk);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::kProtocol);
  EXPECT_NE(bad.error().message().find("does not decompress"), std::string::npos);
  std::vector<uint8_t> cut(blob.begin(), blob.end() - 3);
  auto truncated = SymbolTable::from_compressed_kallsyms(cut);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().message(), "KALLSYMS blob ends inside a zstd frame");
}

TEST(CompressKallsyms, RejectsBadLevel) {
  auto r = compress_kallsyms("x", ZSTD_maxCLevel() + 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace ktstr::ksyms
