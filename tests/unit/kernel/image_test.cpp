#include <gtest/gtest.h>

#include <numeric>

#include "fake_kernel.h"
#include "kernel/decompress.h"
#include "kernel/image.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::kernel {
namespace {

using test::FakeElf;

}  // namespace

// Readable test names in gtest output.
void PrintTo(Compression c, std::ostream* os) { *os << compression_name(c); }

namespace {

FakeElf sample_elf() {
  FakeElf s;
  s.btf = test::fake_btf(3000);
  return s;
}

class KernelImageCompression : public ::testing::TestWithParam<Compression> {};

TEST_P(KernelImageCompression, ExtractsVmlinuxAndBtf) {
  FakeElf spec = sample_elf();
  auto elf = test::make_elf(spec);
  auto image = test::make_kernel(spec, "6.99.0-test #1", GetParam());
  auto v = extract_vmlinux(image);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(*v, elf);
  auto info = inspect_vmlinux(*v);
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->btf, spec.btf);
  EXPECT_EQ(info->arch, "x86_64");
  ASSERT_TRUE(info->text_section_addr.has_value());
  EXPECT_EQ(*info->text_section_addr, spec.text_addr);
}

INSTANTIATE_TEST_SUITE_P(Kernel, KernelImageCompression,
                         ::testing::Values(Compression::kGzip, Compression::kXz, Compression::kZstd,
                                           Compression::kLz4Frame, Compression::kLz4Legacy),
                         [](const auto& info) {
                           std::string n(compression_name(info.param));
                           return n == "lz4 (legacy)" ? std::string("lz4legacy") : n;
                         });

TEST(KernelImage, ParsesSetupHeader) {
  test::FakeBzImage bz;
  bz.payload = {1, 2, 3};
  bz.version = "7.2.13+deb14-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP";
  bz.setup_sects = 3;
  auto img = test::make_bzimage(bz);
  auto h = parse_bzimage_header(img);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->setup_sects, 3);
  EXPECT_EQ(h->protocol, 0x020f);
  EXPECT_EQ(h->protected_mode_offset(), 4u * 512);
  EXPECT_EQ(h->payload_offset, bz.payload_offset);
  EXPECT_EQ(h->payload_length, 3u + 4);
  EXPECT_EQ(h->release(), "7.2.13+deb14-cloud-amd64");
}

TEST(KernelImage, FindsPayloadByScanningWithOldBootProtocol) {
  FakeElf spec = sample_elf();
  auto elf = test::make_elf(spec);
  test::FakeBzImage bz;
  bz.payload = test::compress(Compression::kXz, elf);
  bz.protocol = 0x0206;  // before payload_offset/length existed
  auto v = extract_vmlinux(test::make_bzimage(bz));
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(*v, elf);
}

TEST(KernelImage, FallsBackToScanWhenHeaderFieldsAreWrong) {
  auto elf = test::make_elf(sample_elf());
  test::FakeBzImage bz;
  bz.payload = test::compress(Compression::kGzip, elf);
  auto img = test::make_bzimage(bz);
  img[0x248] ^= 0x10;  // payload_offset now points into junk
  auto v = extract_vmlinux(img);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(*v, elf);
}

TEST(KernelImage, RejectsNonKernelFiles) {
  auto dir = TempDir::create("ktstr-kimg-");
  ASSERT_TRUE(dir.ok());
  auto text = dir->path() / "notes.txt";
  ASSERT_TRUE(write_file(text, std::string(8192, 'x')).ok());
  EXPECT_FALSE(looks_like_bzimage(text));
  auto r = extract_vmlinux(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            text.string() + " is not a Linux kernel image (no bzImage header)");
  auto h = read_bzimage_header(text);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code(), Errc::kInvalidArgument);

  auto elf = dir->path() / "vmlinux";
  test::write_bytes(elf, test::make_elf(sample_elf()));
  EXPECT_FALSE(looks_like_bzimage(elf));
  EXPECT_FALSE(looks_like_bzimage(dir->path() / "missing"));

  auto kernel = dir->path() / "bzImage";
  test::write_bytes(kernel, test::make_kernel(sample_elf(), "6.99.0"));
  EXPECT_TRUE(looks_like_bzimage(kernel));
}

TEST(KernelImage, CorruptPayloadIsAnErrorNotACrash) {
  auto elf = test::make_elf(sample_elf());
  for (Compression c : {Compression::kGzip, Compression::kXz, Compression::kZstd,
                        Compression::kLz4Frame, Compression::kLz4Legacy}) {
    test::FakeBzImage bz;
    bz.payload = test::compress(c, elf);
    // Truncate and flip bytes in the middle of the compressed data.
    bz.payload.resize(bz.payload.size() / 2);
    for (size_t i = 8; i < bz.payload.size(); i += 13) bz.payload[i] ^= 0x5a;
    auto r = extract_vmlinux(test::make_bzimage(bz));
    EXPECT_FALSE(r.ok()) << compression_name(c);
  }
}

TEST(KernelImage, UnsupportedCompressionIsNamed) {
  test::FakeBzImage bz;
  bz.payload = {'B', 'Z', 'h', '9', 0x31, 0x41, 0x59, 0x26};
  auto r = extract_vmlinux(test::make_bzimage(bz));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("bzip2"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("CONFIG_KERNEL_ZSTD"), std::string::npos);
}

TEST(KernelImage, PayloadThatIsNotElfIsRejected) {
  std::vector<uint8_t> junk(5000);
  std::iota(junk.begin(), junk.end(), 0);
  test::FakeBzImage bz;
  bz.payload = test::compress(Compression::kZstd, junk);
  auto r = extract_vmlinux(test::make_bzimage(bz));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("ELF"), std::string::npos) << r.error().message();
}

TEST(KernelImage, LinkTextFromSymbolTableWhenPresent) {
  FakeElf spec = sample_elf();
  spec.text_addr = 0xffffffff81001000ull;
  spec.text_symbol = 0xffffffff81000000ull;
  auto info = inspect_vmlinux(test::make_elf(spec));
  ASSERT_TRUE(info.ok()) << info.error().message();
  ASSERT_TRUE(info->link_text.has_value());
  EXPECT_EQ(*info->link_text, 0xffffffff81000000ull);
  EXPECT_TRUE(info->link_text_from_symbol);
  EXPECT_EQ(*info->text_section_addr, 0xffffffff81001000ull);
}

TEST(KernelImage, LinkTextFallsBackToTextSectionWhenStripped) {
  auto info = inspect_vmlinux(test::make_elf(sample_elf()));
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->link_text.has_value());
  EXPECT_EQ(*info->link_text, 0xffffffff81000000ull);
  EXPECT_FALSE(info->link_text_from_symbol);
}

TEST(KernelImage, NoBtfSectionGivesEmptyBtf) {
  FakeElf spec;  // no .BTF
  auto info = inspect_vmlinux(test::make_elf(spec));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->btf.empty());
}

TEST(KernelImage, BadBtfMagicIsRejected) {
  FakeElf spec;
  spec.btf = {1, 2, 3, 4, 5, 6};
  auto info = inspect_vmlinux(test::make_elf(spec));
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().message().find("BTF magic"), std::string::npos);
}

TEST(KernelImage, NotElfIsRejected) {
  std::vector<uint8_t> junk(100, 0);
  EXPECT_FALSE(inspect_vmlinux(junk).ok());
  EXPECT_FALSE(inspect_vmlinux({}).ok());
}

TEST(KernelImage, FindsEmbeddedConfig) {
  FakeElf spec = sample_elf();
  spec.ikconfig = "CONFIG_SCHED_CLASS_EXT=y\n# CONFIG_NUMA is not set\n";
  auto cfg = find_ikconfig(test::make_elf(spec));
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(*cfg, spec.ikconfig);
  EXPECT_FALSE(find_ikconfig(test::make_elf(sample_elf())).has_value());
}

TEST(KernelDecompress, DetectsMagics) {
  EXPECT_EQ(detect_compression(std::vector<uint8_t>{0x1f, 0x8b, 0x08, 0}), Compression::kGzip);
  EXPECT_EQ(detect_compression(std::vector<uint8_t>{0xfd, '7', 'z', 'X', 'Z', 0}),
            Compression::kXz);
  EXPECT_EQ(detect_compression(std::vector<uint8_t>{0x28, 0xb5, 0x2f, 0xfd}), Compression::kZstd);
  EXPECT_EQ(detect_compression(std::vector<uint8_t>{0x02, 0x21, 0x4c, 0x18}),
            Compression::kLz4Legacy);
  EXPECT_EQ(detect_compression(std::vector<uint8_t>{0x04, 0x22, 0x4d, 0x18}),
            Compression::kLz4Frame);
  EXPECT_FALSE(detect_compression(std::vector<uint8_t>{0x7f, 'E', 'L', 'F'}).has_value());
  EXPECT_FALSE(detect_compression({}).has_value());
}

TEST(KernelDecompress, OutputCapIsEnforced) {
  std::vector<uint8_t> zeros(4u << 20, 0);
  for (Compression c : {Compression::kGzip, Compression::kXz, Compression::kZstd,
                        Compression::kLz4Frame, Compression::kLz4Legacy}) {
    auto packed = test::compress(c, zeros);
    auto r = decompress(c, packed, 1u << 20);
    ASSERT_FALSE(r.ok()) << compression_name(c);
    EXPECT_NE(r.error().message().find("more than"), std::string::npos) << r.error().message();
    auto full = decompress(c, packed, 8u << 20);
    ASSERT_TRUE(full.ok()) << compression_name(c) << ": " << full.error().message();
    EXPECT_EQ(full->size(), zeros.size());
  }
}

}  // namespace
}  // namespace ktstr::kernel
