#include "guest/kallsyms_sender.h"

#include "ksyms/symbols.h"
#include "util/files.h"
#include "wire/protocol.h"

namespace ktstr::guest {

Status send_kallsyms(FrameSink& sink, const std::filesystem::path& path) {
  KTSTR_ASSIGN(std::string text, read_file_limited(path, kMaxKallsymsText), "reading kallsyms");
  if (text.size() >= kMaxKallsymsText)
    return invalid_argument(path.string() + " is larger than " +
                            std::to_string(kMaxKallsymsText >> 20) + " MiB; not sent");
  if (text.empty()) return not_found(path.string() + " is empty; not sent");
  KTSTR_ASSIGN(auto blob, ksyms::compress_kallsyms(text), "compressing kallsyms");
  if (blob.size() > wire::kMaxPayload)
    return invalid_argument("compressed kallsyms is " + std::to_string(blob.size()) +
                            " bytes, over the 16 MiB frame limit; not sent");
  return sink.send(wire::MsgType::kKallsyms, blob);
}

}  // namespace ktstr::guest
