#include "guestmem/phys_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <numeric>

#include "util/fd.h"
#include "util/temp_dir.h"

namespace ktstr::guestmem {
namespace {

std::vector<uint8_t> counting_bytes(size_t n, uint8_t start = 0) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

TEST(PhysMemoryImage, ReadsAtBase) {
  auto mem = PhysMemory::from_image(counting_bytes(4096), 0x10000);
  std::array<uint8_t, 4> out{};
  ASSERT_TRUE(mem.read(0x10010, out).ok());
  EXPECT_EQ(out, (std::array<uint8_t, 4>{0x10, 0x11, 0x12, 0x13}));
  EXPECT_EQ(*mem.read_u32(0x10004), 0x07060504u);
  EXPECT_EQ(*mem.read_u64(0x10000), 0x0706050403020100ull);
  EXPECT_EQ(*mem.read_uint(0x10002, 2), 0x0302u);
  EXPECT_EQ(*mem.read_uint(0x10fff, 1), 0xffu);
  ASSERT_EQ(mem.ranges().size(), 1u);
  EXPECT_EQ(mem.ranges()[0].guest_phys, 0x10000u);
  EXPECT_EQ(mem.ranges()[0].size, 4096u);
}

TEST(PhysMemoryImage, OutsideRamIsAnErrorNamingTheAddress) {
  auto mem = PhysMemory::from_image(counting_bytes(4096), 0x10000);
  auto r = mem.read_u64(0x1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "guest-physical 0x1000 (+8) is outside guest RAM");
  // Crossing the end of the image, and wrapping around 2^64.
  EXPECT_FALSE(mem.read_u64(0x10ffc).ok());
  EXPECT_FALSE(mem.read_u64(~0ull - 3).ok());
  std::vector<uint8_t> big(8);
  EXPECT_FALSE(mem.read(0x11000, big).ok());
  EXPECT_FALSE(mem.read_uint(0x10000, 3).ok());
}

TEST(PhysMemoryImage, ContainsIsOneRange) {
  auto mem = PhysMemory::from_image(counting_bytes(4096), 0x10000);
  EXPECT_TRUE(mem.contains(0x10000, 4096));
  EXPECT_TRUE(mem.contains(0x10fff, 1));
  EXPECT_FALSE(mem.contains(0x10fff, 2));
  EXPECT_FALSE(mem.contains(0xffff, 1));
  EXPECT_FALSE(mem.contains(0x10000, ~0ull));
}

TEST(PhysMemoryImage, WriteNeedsWritableMemory) {
  auto rw = PhysMemory::from_image(counting_bytes(64));
  const std::array<uint8_t, 2> data{0xaa, 0xbb};
  ASSERT_TRUE(rw.write(10, data).ok());
  EXPECT_EQ(*rw.read_uint(10, 2), 0xbbaau);
  EXPECT_FALSE(rw.write(63, data).ok());  // crosses the end
  EXPECT_EQ(*rw.read_uint(63, 1), 63u) << "a failed write touches nothing";

  auto ro = PhysMemory::from_image(counting_bytes(64), 0, Access::kReadOnly);
  EXPECT_FALSE(ro.writable());
  auto st = ro.write(10, data);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("read-only"), std::string::npos) << st.error().message();
  EXPECT_EQ(*ro.read_uint(10, 1), 10u);
}

TEST(PhysMemoryImage, MovedInstanceKeepsWorking) {
  auto a = PhysMemory::from_image(counting_bytes(16));
  PhysMemory b = std::move(a);
  EXPECT_EQ(*b.read_uint(15, 1), 15u);
  PhysMemory c;
  EXPECT_FALSE(c.read_u64(0).ok());
  c = std::move(b);
  EXPECT_EQ(*c.read_uint(1, 1), 1u);
}

// Real files in a private temp dir: "a" holds 128 KiB, "b" 64 KiB.
class PhysMemoryFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("guestmem-test-");
    ASSERT_TRUE(d.ok()) << d.error().message();
    dir_ = std::move(*d);
    a_ = dir_.path() / "a";
    b_ = dir_.path() / "b";
    write_file(a_, counting_bytes(128 * 1024, 0));
    write_file(b_, counting_bytes(64 * 1024, 0x80));
  }
  static void write_file(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
    UniqueFd fd(::open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  static uint8_t byte_of_file(const std::filesystem::path& p, off_t off) {
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    uint8_t b = 0;
    EXPECT_EQ(::pread(fd.get(), &b, 1, off), 1);
    return b;
  }
  // a[0, 64K) at 0, b at 64K (adjacent), a[64K, 128K) at 1 MiB.
  std::vector<RamRange> layout() const {
    return {{0x100000, 0x10000, a_, 0x10000}, {0, 0x10000, a_, 0}, {0x10000, 0x10000, b_, 0}};
  }

  TempDir dir_;
  std::filesystem::path a_, b_;
};

TEST_F(PhysMemoryFiles, MapsRangesSortedAndReadsThem) {
  auto mem = PhysMemory::map(layout());
  ASSERT_TRUE(mem.ok()) << mem.error().message();
  ASSERT_EQ(mem->ranges().size(), 3u);
  EXPECT_EQ(mem->ranges()[0].guest_phys, 0u);
  EXPECT_EQ(mem->ranges()[1].guest_phys, 0x10000u);
  EXPECT_EQ(mem->ranges()[2].guest_phys, 0x100000u);
  EXPECT_EQ(*mem->read_uint(5, 1), 5u);
  EXPECT_EQ(*mem->read_uint(0x10000, 1), 0x80u);
  // a[0x10001] is 0x01 (counting bytes wrap every 256).
  EXPECT_EQ(*mem->read_uint(0x100001, 1), 0x01u);
  EXPECT_FALSE(mem->writable());
}

TEST_F(PhysMemoryFiles, ReadAcrossAdjacentRangesIsPiecewise) {
  auto mem = PhysMemory::map(layout());
  ASSERT_TRUE(mem.ok()) << mem.error().message();
  std::array<uint8_t, 4> out{};
  ASSERT_TRUE(mem->read(0xfffe, out).ok());
  EXPECT_EQ(out, (std::array<uint8_t, 4>{0xfe, 0xff, 0x80, 0x81}));
  EXPECT_FALSE(mem->contains(0xfffe, 4)) << "contains() is about one range";
  // b ends at 0x20000 and the next range starts at 1 MiB: a hole.
  auto r = mem->read_u64(0x1fffc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "guest-physical 0x1fffc (+8) is outside guest RAM");
}

TEST_F(PhysMemoryFiles, WritableMappingWritesTheFile) {
  auto mem = PhysMemory::map(layout(), Access::kReadWrite);
  ASSERT_TRUE(mem.ok()) << mem.error().message();
  const std::array<uint8_t, 2> data{0x5a, 0xa5};
  ASSERT_TRUE(mem->write(0xffff, data).ok());
  EXPECT_EQ(byte_of_file(a_, 0xffff), 0x5a);
  EXPECT_EQ(byte_of_file(b_, 0), 0xa5);
  ASSERT_TRUE(mem->write(0x100000, data).ok());
  EXPECT_EQ(byte_of_file(a_, 0x10000), 0x5a);
}

TEST_F(PhysMemoryFiles, ReadOnlyMappingRefusesWrites) {
  auto mem = PhysMemory::map(layout(), Access::kReadOnly);
  ASSERT_TRUE(mem.ok()) << mem.error().message();
  const std::array<uint8_t, 1> data{1};
  EXPECT_FALSE(mem->write(0, data).ok());
  EXPECT_EQ(byte_of_file(a_, 0), 0);
}

TEST_F(PhysMemoryFiles, BadRangesAreRefused) {
  auto message = [](std::vector<RamRange> ranges) {
    auto mem = PhysMemory::map(std::move(ranges));
    return mem.ok() ? std::string("ok") : mem.error().message();
  };
  EXPECT_NE(message({{0, 0x10000, a_, 0}, {0x8000, 0x10000, b_, 0}}).find("overlap"),
            std::string::npos);
  EXPECT_NE(message({{0, 0, a_, 0}}).find("size 0"), std::string::npos);
  EXPECT_NE(message({{0, 0x10000, b_, 0x8000}}).find("has 65536 bytes, ranges need 98304"),
            std::string::npos);
  EXPECT_NE(message({{0, 0x1000, a_, ~0ull - 10}}).find("wraps"), std::string::npos);
  EXPECT_NE(message({{0, 0x1000, dir_.path() / "missing", 0}}).find("missing"),
            std::string::npos);
}

}  // namespace
}  // namespace ktstr::guestmem
