#include "guest/run_spec.h"

#include <limits>

#include <nlohmann/json.hpp>

namespace ktstr::guest {

namespace {

using nlohmann::json;

Error field_error(std::string_view key, std::string_view what) {
  return invalid_argument("run spec: \"" + std::string(key) + "\" " + std::string(what));
}

Result<uint32_t> get_u32(std::string_view key, const json& v) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > std::numeric_limits<uint32_t>::max())
    return field_error(key, "must be an integer from 0 to 4294967295");
  return static_cast<uint32_t>(v.get<uint64_t>());
}

Status apply_scheduler(SchedulerRunSpec& s, const json& v) {
  if (!v.is_object()) return field_error("scheduler", "must be an object");
  for (const auto& [key, value] : v.items()) {
    std::string where = "scheduler." + key;
    if (key == "binary" || key == "ops_name") {
      if (!value.is_string()) return field_error(where, "must be a string");
      (key == "binary" ? s.binary : s.ops_name) = value.get<std::string>();
    } else if (key == "args") {
      if (!value.is_array()) return field_error(where, "must be an array of strings");
      s.args.clear();
      for (const auto& a : value) {
        if (!a.is_string()) return field_error(where, "must be an array of strings");
        s.args.push_back(a.get<std::string>());
      }
    } else if (key == "attach_timeout_ms") {
      KTSTR_ASSIGN(s.attach_timeout_ms, get_u32(where, value));
    } else if (key == "watchdog_timeout_ms") {
      KTSTR_ASSIGN(s.watchdog_timeout_ms, get_u32(where, value));
    } else {
      return field_error(where,
                         "is not a known key; known: binary, args, ops_name, attach_timeout_ms, "
                         "watchdog_timeout_ms");
    }
  }
  return {};
}

Status apply(RunSpec& spec, const std::string& key, const json& v) {
  if (key == "mode") {
    if (!v.is_string())
      return field_error(key, "must be a string (\"exec\", \"shell\", \"scenario\" or \"test\")");
    spec.mode = v.get<std::string>();
    if (spec.mode != "exec" && spec.mode != "shell" && spec.mode != "scenario" && spec.mode != "test")
      return field_error(key, "is \"" + spec.mode + "\"; use \"exec\", \"shell\", \"scenario\" or \"test\"");
  } else if (key == "command") {
    if (!v.is_string()) return field_error(key, "must be a string (run via /bin/sh -c)");
    spec.command = v.get<std::string>();
  } else if (key == "env") {
    if (!v.is_array()) return field_error(key, "must be an array of \"KEY=VALUE\" strings");
    spec.env.clear();
    for (size_t i = 0; i < v.size(); ++i) {
      const auto& e = v[i];
      std::string where = "[" + std::to_string(i) + "]";
      if (!e.is_string()) return field_error(key, where + " must be a \"KEY=VALUE\" string");
      auto s = e.get<std::string>();
      if (s.find('=') == std::string::npos || s.front() == '=')
        return field_error(key, where + " \"" + s + "\" is not KEY=VALUE");
      spec.env.push_back(std::move(s));
    }
  } else if (key == "forward_dmesg") {
    if (!v.is_boolean()) return field_error(key, "must be true or false");
    spec.forward_dmesg = v.get<bool>();
  } else if (key == "poweroff_delay_ms") {
    KTSTR_ASSIGN(spec.poweroff_delay_ms, get_u32(key, v));
  } else if (key == "exit_ack_timeout_ms") {
    KTSTR_ASSIGN(spec.exit_ack_timeout_ms, get_u32(key, v));
  } else if (key == "scenario") {
    if (!v.is_string()) return field_error(key, "must be a string (scenario TOML)");
    spec.scenario = v.get<std::string>();
  } else if (key == "topology") {
    if (!v.is_string()) return field_error(key, "must be a string such as \"1n2l2c1t\"");
    spec.topology = v.get<std::string>();
  } else if (key == "scheduler") {
    KTSTR_TRY(apply_scheduler(spec.scheduler, v));
  } else if (key == "send_kallsyms") {
    if (!v.is_boolean()) return field_error(key, "must be true or false");
    spec.send_kallsyms = v.get<bool>();
  } else if (key == "host_request_timeout_ms") {
    KTSTR_ASSIGN(spec.host_request_timeout_ms, get_u32(key, v));
  } else if (key == "test") {
    if (!v.is_string()) return field_error(key, "must be a string (a KTSTR_TEST name)");
    spec.test = v.get<std::string>();
  } else {
    return field_error(key,
                       "is not a known key; known: mode, command, env, forward_dmesg, "
                       "poweroff_delay_ms, exit_ack_timeout_ms, scenario, topology, test, scheduler, "
                       "send_kallsyms, host_request_timeout_ms");
  }
  return {};
}

}  // namespace

bool operator==(const RunSpec& a, const RunSpec& b) {
  return a.mode == b.mode && a.command == b.command && a.env == b.env &&
         a.forward_dmesg == b.forward_dmesg && a.poweroff_delay_ms == b.poweroff_delay_ms &&
         a.exit_ack_timeout_ms == b.exit_ack_timeout_ms && a.scenario == b.scenario &&
         a.topology == b.topology && a.test == b.test && a.scheduler == b.scheduler &&
         a.send_kallsyms == b.send_kallsyms && a.host_request_timeout_ms == b.host_request_timeout_ms;
}

std::string to_json(const RunSpec& spec) {
  json j = {
      {"mode", spec.mode},
      {"command", spec.command},
      {"env", spec.env},
      {"forward_dmesg", spec.forward_dmesg},
      {"poweroff_delay_ms", spec.poweroff_delay_ms},
      {"exit_ack_timeout_ms", spec.exit_ack_timeout_ms},
      {"scenario", spec.scenario},
      {"topology", spec.topology},
      {"test", spec.test},
      {"scheduler",
       {{"binary", spec.scheduler.binary},
        {"args", spec.scheduler.args},
        {"ops_name", spec.scheduler.ops_name},
        {"attach_timeout_ms", spec.scheduler.attach_timeout_ms},
        {"watchdog_timeout_ms", spec.scheduler.watchdog_timeout_ms}}},
      {"send_kallsyms", spec.send_kallsyms},
      {"host_request_timeout_ms", spec.host_request_timeout_ms},
  };
  // Replace invalid UTF-8 rather than throw: the spec is ours, the text is the user's.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<RunSpec> parse_run_spec(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("run spec: not valid JSON");
  if (!j.is_object()) return invalid_argument("run spec: must be a JSON object");
  RunSpec spec;
  for (const auto& [key, value] : j.items()) KTSTR_TRY(apply(spec, key, value));
  return spec;
}

}  // namespace ktstr::guest
