#include "guest/port.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::guest {
namespace {

namespace fs = std::filesystem;

// sys/class/virtio-ports/<dev>/name, and a dev/ directory for the nodes.
class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("ktstr-sysfs-");
    ASSERT_TRUE(d.ok());
    dir_ = std::move(*d);
    fs::create_directories(sys() / "class" / "virtio-ports");
    fs::create_directories(dev());
  }
  fs::path sys() const { return dir_.path() / "sys"; }
  fs::path dev() const { return dir_.path() / "dev"; }
  void add_port(const std::string& devname, const std::string& name) {
    auto p = sys() / "class" / "virtio-ports" / devname;
    fs::create_directories(p);
    ASSERT_TRUE(write_file(p / "name", name + "\n").ok());
  }
  void add_node(const std::string& devname) { ASSERT_TRUE(write_file(dev() / devname, "").ok()); }
  TempDir dir_;
};

TEST_F(FakeSysfs, FindsPortByName) {
  add_port("vport0p0", "");
  add_port("vport1p1", "org.qemu.guest_agent.0");
  add_port("vport1p2", "ktstr.bulk");
  auto d = find_port_device(sys(), "ktstr.bulk");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(*d, "vport1p2");
}

TEST_F(FakeSysfs, NotFound) {
  add_port("vport1p1", "ktstr.bulk.other");
  auto d = find_port_device(sys(), "ktstr.bulk");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code(), Errc::kNotFound);
  EXPECT_NE(d.error().message().find("no virtio port named \"ktstr.bulk\""), std::string::npos);
}

TEST_F(FakeSysfs, NoVirtioPortsClass) {
  fs::remove_all(sys() / "class");
  auto d = find_port_device(sys(), "ktstr.bulk");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("no virtio-serial device"), std::string::npos);
}

TEST_F(FakeSysfs, OpensTheDeviceNode) {
  add_port("vport2p1", "ktstr.bulk");
  add_node("vport2p1");
  auto fd = open_port(sys(), dev(), "ktstr.bulk", std::chrono::milliseconds(0));
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  ASSERT_TRUE(fd->valid());
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFL) & O_NONBLOCK);  // a stalled host must not hang us
  ASSERT_EQ(::write(fd->get(), "x", 1), 1);
  EXPECT_EQ(*read_file(dev() / "vport2p1"), "x");
}

TEST_F(FakeSysfs, GivesUpAtTheDeadlineNamingTheCause) {
  add_port("vport2p1", "ktstr.bulk");  // sysfs entry but no /dev node
  auto fd = open_port(sys(), dev(), "ktstr.bulk", std::chrono::milliseconds(20));
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.error().message().find("waiting 20 ms for port ktstr.bulk"), std::string::npos)
      << fd.error().message();
  EXPECT_NE(fd.error().message().find("vport2p1"), std::string::npos) << fd.error().message();
}

}  // namespace
}  // namespace ktstr::guest
