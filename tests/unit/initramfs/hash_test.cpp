#include "initramfs/hash.h"

#include <gtest/gtest.h>

namespace ktstr::initramfs {
namespace {

// Reference values from libxxhash 0.8.1 (XXH64).
TEST(Xxh64, MatchesReferenceImplementation) {
  EXPECT_EQ(xxh64(""), 0xef46db3751d8e999ULL);
  EXPECT_EQ(xxh64("abc"), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(xxh64(std::string(37, 'a')), 0xa859ba1fc96ba5a7ULL);
  std::string big;
  for (int r = 0; r < 4; ++r) {
    for (int i = 0; i < 256; ++i) {
      big += static_cast<char>(i);
    }
  }
  big += "xyz";
  EXPECT_EQ(xxh64(big), 0xe146cb31b65bc21aULL);
  EXPECT_EQ(xxh64("Nobody inspects the spammish repetition", 12345), 0x081a876428a9313bULL);
}

TEST(Xxh64, HexIsSixteenDigits) {
  EXPECT_EQ(hex64(0x81a876428a9313bULL), "081a876428a9313b");
  EXPECT_EQ(hex64(0), "0000000000000000");
}

}  // namespace
}  // namespace ktstr::initramfs
