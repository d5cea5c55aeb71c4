// The knob table behind thresholds.h: one row per threshold key with its
// type, valid range, unit, TCG policy and where it lives in Thresholds and
// Limits. Every by-name operation (parse, merge, text, JSON) walks this table.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "check/thresholds.h"

namespace ktstr::check::detail {

struct KnobInfo {
  std::string_view key;
  std::string_view unit;  // "ms", "%", "/s", "" ...
  std::string_view what;  // one-line description for show-thresholds
  TcgPolicy tcg;
  // Exactly one pair of the member pointers is set (bool or double knob).
  Knob<bool> Thresholds::*bool_knob = nullptr;
  bool Limits::*bool_limit = nullptr;
  Knob<double> Thresholds::*num_knob = nullptr;
  std::optional<double> Limits::*num_limit = nullptr;
  // Range of a double knob: lo (inclusive unless lo_open) .. hi (inclusive).
  double lo = 0;
  bool lo_open = false;
  double hi = 0;               // ignored when inf_turns_off
  bool inf_turns_off = false;  // max_* limits: inf means "check off"
};

std::span<const KnobInfo> knob_table();
const KnobInfo* find_knob(std::string_view key);

}  // namespace ktstr::check::detail
