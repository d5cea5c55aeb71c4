#include "guest/kmsg.h"

#include <charconv>
#include <cstdio>

#include "util/files.h"

namespace ktstr::guest {

std::string format_kmsg_record(std::string_view record) {
  auto semi = record.find(';');
  auto nl = record.find('\n');
  if (semi == std::string_view::npos || (nl != std::string_view::npos && nl < semi)) {
    std::string out(record);
    if (out.empty() || out.back() != '\n') out += '\n';
    return out;
  }
  auto prefix = record.substr(0, semi);
  auto body = record.substr(semi + 1);
  body = body.substr(0, body.find('\n'));  // drop dictionary continuation lines

  // usec is the third comma-separated prefix field.
  unsigned long long usec = 0;
  bool have_ts = false;
  auto parts = split(prefix, ',');
  if (parts.size() >= 3) {
    const auto& f = parts[2];
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), usec);
    have_ts = ec == std::errc() && p == f.data() + f.size();
  }
  std::string out;
  if (have_ts) {
    char ts[40];
    std::snprintf(ts, sizeof ts, "[%5llu.%06llu] ", usec / 1000000, usec % 1000000);
    out = ts;
  }
  out.append(body);
  out += '\n';
  return out;
}

}  // namespace ktstr::guest
