// Writing scenarios back as scenario-file TOML. The host sends a scenario
// to the guest this way, so the round trip is exact:
// parse_scenario_text(to_toml(s)) == s for every valid scenario. Fields at
// their defaults are left out, so the text reads like a hand-written file.
#pragma once

#include <string>

#include "scenario/model.h"

namespace ktstr::scenario {

std::string to_toml(const Scenario& s);

}  // namespace ktstr::scenario
