// Helpers shared by the topology unit tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "util/result.h"

namespace ktstr::topo::testing {

// Asserts r failed with a one-line message containing `needle`; returns it.
template <typename T>
std::string expect_error(const Result<T>& r, const std::string& needle) {
  EXPECT_FALSE(r.ok()) << "expected an error containing '" << needle << "'";
  if (r.ok()) return {};
  std::string msg = r.error().message();
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line message: " << msg;
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument) << msg;
  return msg;
}

}  // namespace ktstr::topo::testing
