#include "vm/console.h"

#include <fcntl.h>

#include <gtest/gtest.h>

#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::vm {
namespace {

TEST(ConsoleLog, SplitsLinesAcrossChunksAndDropsCarriageReturns) {
  std::vector<std::string> seen;
  ConsoleLog log({}, [&seen](std::string_view l) { seen.emplace_back(l); });
  log.feed("[    0.1] Linux ver");
  log.feed("sion 7.2\r\n[    0.2] second\n\nthird");
  EXPECT_EQ(seen,
            (std::vector<std::string>{"[    0.1] Linux version 7.2", "[    0.2] second", ""}));
  log.finish();
  EXPECT_EQ(seen.back(), "third");
  EXPECT_EQ(log.tail().size(), 4u);
}

TEST(ConsoleLog, KeepsOnlyTheLastLines) {
  ConsoleLog log;
  for (size_t i = 0; i < ConsoleLog::kTailLines + 50; ++i)
    log.feed("line " + std::to_string(i) + "\n");
  auto tail = log.tail();
  ASSERT_EQ(tail.size(), ConsoleLog::kTailLines);
  EXPECT_EQ(tail.front(), "line 50");
  EXPECT_EQ(tail.back(), "line " + std::to_string(ConsoleLog::kTailLines + 49));
}

TEST(ConsoleLog, SplitsOverlongLines) {
  ConsoleLog log;
  log.feed(std::string(ConsoleLog::kMaxLine * 2 + 10, 'x') + "\n");
  auto tail = log.tail();
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[0].size(), ConsoleLog::kMaxLine);
  EXPECT_EQ(tail[2].size(), 10u);
}

TEST(ConsoleLog, RecordsTheFirstCrashLine) {
  ConsoleLog log;
  log.feed("[    1.0] normal boot\n");
  EXPECT_FALSE(log.panic_message());
  log.feed(
      "[    1.3] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
      "[    1.3] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
      "[    1.4] Kernel panic - not syncing: Fatal exception\n"
      "[    1.4] ---[ end Kernel panic - not syncing: Fatal exception ]---\n");
  ASSERT_TRUE(log.panic_message());
  EXPECT_EQ(*log.panic_message(),
            "[    1.3] BUG: kernel NULL pointer dereference, address: 0000000000000008");
  EXPECT_EQ(log.incidents().size(), 4u);
}

TEST(ConsoleLog, PanicWithoutNewlineIsFoundAtFinish) {
  ConsoleLog log;
  log.feed("Kernel panic - not syncing: VFS: Unable to mount root fs");
  EXPECT_FALSE(log.panic_message());
  log.finish();
  ASSERT_TRUE(log.panic_message());
}

TEST(ConsoleLog, WritesRawBytesToTheLogFile) {
  auto dir = TempDir::create("ktstr-console-test-");
  ASSERT_TRUE(dir.ok());
  auto path = dir->path() / "console.log";
  {
    ConsoleLog log(UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)));
    log.feed("a\r\nb");
    log.finish();
  }
  EXPECT_EQ(*read_file(path), "a\r\nb");
}

}  // namespace
}  // namespace ktstr::vm
