#include <gtest/gtest.h>

#include <random>

#include "wire/utf8.h"

namespace ktstr::wire {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";
const std::string kEmoji = "\xF0\x9F\x98\x80";  // U+1F600, 4 bytes

TEST(Utf8, ValidSequences) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));           // 2 bytes
  EXPECT_TRUE(is_valid_utf8("\xE2\x82\xAC"));          // 3 bytes (euro)
  EXPECT_TRUE(is_valid_utf8(kEmoji));                  // 4 bytes
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF
  EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));  // NUL is valid UTF-8
}

TEST(Utf8, InvalidSequences) {
  for (std::string bad :
       {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xED\xA0\x80", "\xF0\x80\x80\x80",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xC3", "\xE2\x82", "\xF0\x9F\x98"})
    EXPECT_FALSE(is_valid_utf8(bad)) << testing::PrintToString(bad);
}

TEST(Utf8, SanitizeKeepsValidText) {
  EXPECT_EQ(sanitize_utf8("caf\xC3\xA9 " + kEmoji, 256), "caf\xC3\xA9 " + kEmoji);
}

TEST(Utf8, SanitizeReplacesEachInvalidByte) {
  EXPECT_EQ(sanitize_utf8("a\xFF"
                          "b",
                          256),
            "a" + kFffd + "b");
  EXPECT_EQ(sanitize_utf8("\xC0\x80", 256), kFffd + kFffd);              // overlong NUL
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80", 256), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(sanitize_utf8("x\xE2\x82", 256), "x" + kFffd + kFffd);       // truncated at end
}

TEST(Utf8, CutNeverSplitsACharacter) {
  // A 4-byte character straddling the 256-byte limit is dropped whole.
  std::string s = std::string(253, 'a') + kEmoji + "tail";
  std::string out = sanitize_utf8(s, 256);
  EXPECT_EQ(out, std::string(253, 'a'));
  // Ending exactly at the limit, it is kept.
  s = std::string(252, 'a') + kEmoji + "tail";
  EXPECT_EQ(sanitize_utf8(s, 256), std::string(252, 'a') + kEmoji);
  // A replacement character that would cross the limit is dropped too.
  EXPECT_EQ(sanitize_utf8(std::string(255, 'a') + "\xFF", 256), std::string(255, 'a'));
}

TEST(Utf8, SanitizedOutputIsAlwaysValidAndBounded) {
  std::mt19937 rng(11);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 600, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 4 ? 0x80 + rng() % 0x80 : rng() % 0x80);
    size_t max = rng() % 300;
    std::string out = sanitize_utf8(s, max);
    ASSERT_LE(out.size(), max);
    ASSERT_TRUE(is_valid_utf8(out));
    if (is_valid_utf8(s) && s.size() <= max) {
      ASSERT_EQ(out, s);
    }
  }
}

}  // namespace
}  // namespace ktstr::wire
