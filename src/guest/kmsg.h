// Turning /dev/kmsg records into dmesg-style lines for DMESG frames.
#pragma once

#include <string>
#include <string_view>

namespace ktstr::guest {

// One record as read() from /dev/kmsg:
//   "6,339,5140900,-;text\n KEY=value\n"  (prefix fields: level, seq, usec, flags)
// becomes "[    5.140900] text\n". Dictionary lines (" KEY=value") are
// dropped; text stays as the kernel escaped it. A record without a ';'
// prefix is passed through with a trailing newline.
std::string format_kmsg_record(std::string_view record);

}  // namespace ktstr::guest
