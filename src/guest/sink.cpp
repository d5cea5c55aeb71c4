#include "guest/sink.h"

#include "wire/writer.h"

namespace ktstr::guest {

namespace {
std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

Status FrameSink::send(wire::MsgType type, std::span<const uint8_t> payload) {
  return writer_.write(type, payload);
}

Status FrameSink::send(wire::MsgType type, std::string_view payload) {
  return send(type, bytes(payload));
}

Status FrameSink::stream(wire::MsgType type, std::span<const uint8_t> data) {
  return writer_.write_stream(type, data, kMaxChunk);
}

Status FrameSink::stream(wire::MsgType type, std::string_view data) {
  return stream(type, bytes(data));
}

}  // namespace ktstr::guest
