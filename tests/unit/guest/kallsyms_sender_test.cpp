#include "guest/kallsyms_sender.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include "frames.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::guest {
namespace {

std::string decompress(const std::string& blob) {
  unsigned long long size = ZSTD_getFrameContentSize(blob.data(), blob.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (64u << 20))
    return "<not a zstd frame with a known size>";
  std::string out(size, '\0');
  size_t n = ZSTD_decompress(out.data(), out.size(), blob.data(), blob.size());
  if (ZSTD_isError(n)) return "<corrupt>";
  out.resize(n);
  return out;
}

TEST(KallsymsSender, SendsOneCompressedFrame) {
  auto dir = TempDir::create("ktstr-kallsyms-");
  ASSERT_TRUE(dir.ok());
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "ffffffff8100" + std::to_string(1000 + i) + " T symbol_" + std::to_string(i) + "\n";
  auto path = dir->path() / "kallsyms";
  ASSERT_TRUE(write_file(path, text).ok());

  testing::PipeCollector pipe;
  FrameSink sink(pipe.write_fd());
  ASSERT_TRUE(send_kallsyms(sink, path).ok());
  auto frames = testing::decode_frames(pipe.finish());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, wire::MsgType::kKallsyms);
  EXPECT_LT(frames[0].payload.size(), text.size());
  EXPECT_EQ(decompress(frames[0].payload), text);
}

TEST(KallsymsSender, MissingFileIsAnErrorAndNoFrame) {
  testing::PipeCollector pipe;
  FrameSink sink(pipe.write_fd());
  auto st = send_kallsyms(sink, "/nonexistent/kallsyms");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("/nonexistent/kallsyms"), std::string::npos) << st.error().message();
  EXPECT_TRUE(testing::decode_frames(pipe.finish()).empty());
}

TEST(KallsymsSender, EmptyFileIsNotSent) {
  auto dir = TempDir::create("ktstr-kallsyms-");
  ASSERT_TRUE(dir.ok());
  auto path = dir->path() / "kallsyms";
  ASSERT_TRUE(write_file(path, "").ok());
  testing::PipeCollector pipe;
  FrameSink sink(pipe.write_fd());
  auto st = send_kallsyms(sink, path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("is empty"), std::string::npos);
  EXPECT_TRUE(testing::decode_frames(pipe.finish()).empty());
}

}  // namespace
}  // namespace ktstr::guest
