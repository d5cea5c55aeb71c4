// Snapshot::to_json shape.
#include <gtest/gtest.h>

#include "freeze/snapshot.h"

namespace ktstr::freeze {
namespace {

TEST(Snapshot, TriggerNames) {
  EXPECT_EQ(to_string(Trigger::kRequest), "request");
  EXPECT_EQ(to_string(Trigger::kWatch), "watch");
  EXPECT_EQ(to_string(Trigger::kPeriodic), "periodic");
}

TEST(Snapshot, JsonHasEveryPartAndMapsByName) {
  Snapshot s;
  s.name = "after";
  s.trigger = Trigger::kWatch;
  s.step = 2;
  s.t_ms = 1500;
  s.workload_ms = 1400;
  s.freeze_us = 320;
  monitor::CpuSample c;
  c.cpu = 0;
  c.nr_running = 3;
  s.sched.cpus.push_back(c);
  s.sched.global.scx_state = "enabled";
  s.globals["scx_nr"] = 5;
  MapDump m;
  m.id = 7;
  m.name = "scx_simple.bss";
  m.map_type = 2;
  m.type_name = "array";
  m.value = {{"vtime_now", 9}};
  s.maps.push_back(m);
  m.id = 8;  // a second live map of the same name
  m.note = "old";
  s.maps.push_back(m);
  s.errors.push_back("cpu 1: unreadable");

  auto j = s.to_json();
  EXPECT_EQ(j["name"], "after");
  EXPECT_EQ(j["trigger"], "watch");
  EXPECT_EQ(j["step"], 2);
  EXPECT_EQ(j["t_ms"], 1500);
  EXPECT_EQ(j["workload_ms"], 1400);
  EXPECT_EQ(j["freeze_us"], 320);
  EXPECT_EQ(j["cpus"][0]["nr_running"], 3);
  EXPECT_EQ(j["global"]["scx_state"], "enabled");
  EXPECT_EQ(j["globals"]["scx_nr"], 5);
  EXPECT_EQ(j["maps"]["scx_simple.bss"]["id"], 7);
  EXPECT_EQ(j["maps"]["scx_simple.bss"]["type"], "array");
  EXPECT_EQ(j["maps"]["scx_simple.bss"]["value"]["vtime_now"], 9);
  EXPECT_FALSE(j["maps"]["scx_simple.bss"].contains("note"));
  EXPECT_EQ(j["maps"]["scx_simple.bss#8"]["note"], "old");
  EXPECT_EQ(j["errors"][0], "cpu 1: unreadable");
  EXPECT_NO_THROW((void)j.dump());
}

}  // namespace
}  // namespace ktstr::freeze
