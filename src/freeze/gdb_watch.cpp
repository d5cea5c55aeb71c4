#include "freeze/gdb_watch.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace ktstr::freeze {

namespace {

using std::chrono::milliseconds;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<uint64_t> parse_hex(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = hex_value(c);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

// Printable form of a packet for error messages (bounded).
std::string shown(std::string_view p) {
  std::string out;
  for (char c : p.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  if (p.size() > 80) out += "...";
  return out;
}

int ms_until(Deadline deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - vm::Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1000));
}

Result<UniqueFd> connect_once(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path)
    return invalid_argument(fmt::format("gdb socket path {} is longer than {} bytes",
                                        path.string(), sizeof addr.sun_path - 1));
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return io_error("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return io_error("connecting to gdbstub " + path.string());
  return fd;
}

}  // namespace

namespace gdbproto {

uint8_t checksum(std::string_view bytes) {
  unsigned sum = 0;
  for (char c : bytes) sum += static_cast<unsigned char>(c);
  return static_cast<uint8_t>(sum & 0xff);
}

std::string frame(std::string_view data) {
  std::string body;
  for (char c : data) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      body += '}';
      body += static_cast<char>(c ^ 0x20);
    } else {
      body += c;
    }
  }
  return fmt::format("${}#{:02x}", body, checksum(body));
}

Result<std::string> decode(std::string_view body, size_t max) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '}') {
      if (++i >= body.size()) return protocol_error("gdb packet ends inside an escape");
      c = static_cast<char>(body[i] ^ 0x20);
    } else if (c == '*') {
      // "x*N": N - 29 more copies of the previous byte.
      if (out.empty() || i + 1 >= body.size())
        return protocol_error("gdb packet has a run-length marker without a byte to repeat");
      int count = static_cast<unsigned char>(body[++i]) - 29;
      if (count < 0) return protocol_error("gdb packet has a bad run-length count");
      if (out.size() + static_cast<size_t>(count) > max)
        return protocol_error(fmt::format("gdb packet expands beyond {} bytes", max));
      out.append(static_cast<size_t>(count), out.back());
      continue;
    }
    if (out.size() >= max) return protocol_error(fmt::format("gdb packet exceeds {} bytes", max));
    out += c;
  }
  return out;
}

}  // namespace gdbproto

Result<StopEvent> parse_stop_reply(std::string_view p) {
  StopEvent ev;
  ev.raw = std::string(p.substr(0, 256));
  if (p.size() < 3 || (p[0] != 'T' && p[0] != 'S' && p[0] != 'W' && p[0] != 'X'))
    return protocol_error(fmt::format("not a gdb stop reply: '{}'", shown(p)));
  auto sig = parse_hex(p.substr(1, 2));
  if (!sig) return protocol_error(fmt::format("gdb stop reply with a bad signal: '{}'", shown(p)));
  ev.signal = static_cast<int>(*sig);
  ev.exited = p[0] == 'W' || p[0] == 'X';
  if (p[0] != 'T') return ev;
  // "key:value;" pairs; only the watch ones matter here.
  std::string_view rest = p.substr(3);
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    size_t colon = pair.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = pair.substr(0, colon), value = pair.substr(colon + 1);
    if (key == "watch" || key == "rwatch" || key == "awatch") {
      auto addr = parse_hex(value);
      if (!addr)
        return protocol_error(fmt::format("gdb stop reply with a bad watch address: '{}'", shown(p)));
      ev.watch_kind = std::string(key);
      ev.watch_addr = *addr;
    }
  }
  return ev;
}

GdbClient::~GdbClient() {
  if (connected()) (void)detach(vm::deadline_in(milliseconds(2000)));
}

GdbClient& GdbClient::operator=(GdbClient&& o) noexcept {
  if (this != &o) {
    if (connected()) (void)detach(vm::deadline_in(milliseconds(2000)));
    fd_ = std::move(o.fd_);
    in_ = std::move(o.in_);
    stops_ = std::move(o.stops_);
  }
  return *this;
}

Result<GdbClient> GdbClient::connect(const std::filesystem::path& socket, Deadline deadline) {
  UniqueFd fd;
  while (true) {
    auto r = connect_once(socket);
    if (r.ok()) {
      fd = std::move(r).value();
      break;
    }
    int err = r.error().sys_errno();
    bool not_yet = err == ENOENT || err == ECONNREFUSED || err == EAGAIN;
    if (!not_yet || vm::Clock::now() >= deadline) return std::move(r).error();
    std::this_thread::sleep_for(milliseconds(20));
  }
  GdbClient c(std::move(fd));
  // Attaching stopped the VM; a running VM also sent "T02" before QEMU
  // read anything from us, so it is queued by the time qSupported answers.
  KTSTR_ASSIGN(auto features, c.command("qSupported", deadline), "gdbstub handshake");
  (void)features;
  c.stops_.clear();
  return c;
}

Status GdbClient::send_raw(std::string_view bytes) {
  if (!connected()) return Error(Errc::kFailed, "gdb client is not connected");
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("writing to gdbstub");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status GdbClient::send_packet(std::string_view data) { return send_raw(gdbproto::frame(data)); }

Result<std::string> GdbClient::read_packet(Deadline deadline) {
  if (!connected()) return Error(Errc::kFailed, "gdb client is not connected");
  while (true) {
    // Frame what we have: skip acks/noise up to '$', then "$body#xx".
    size_t start = in_.find('$');
    if (start == std::string::npos) {
      in_.clear();
    } else {
      if (start > 0) in_.erase(0, start);
      // A '$' before the '#' starts a new packet: the partial one was noise.
      size_t hash = in_.find_first_of("$#", 1);
      if (hash != std::string::npos && in_[hash] == '$') {
        in_.erase(0, hash);
        continue;
      }
      if (hash == std::string::npos ? in_.size() > kMaxPacket : hash > kMaxPacket + 1) {
        in_.clear();  // resynchronise on the next '$'
        return protocol_error(fmt::format("gdb packet longer than {} bytes", kMaxPacket));
      }
      if (hash != std::string::npos && in_.size() >= hash + 3) {
        std::string body = in_.substr(1, hash - 1);
        int hi = hex_value(in_[hash + 1]), lo = hex_value(in_[hash + 2]);
        in_.erase(0, hash + 3);
        if (hi < 0 || lo < 0 || gdbproto::checksum(body) != (hi << 4 | lo)) {
          KTSTR_TRY(send_raw("-"), "asking gdbstub to resend");  // QEMU retransmits
          continue;
        }
        return gdbproto::decode(body, kMaxPacket);
      }
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, ms_until(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_error("polling gdbstub");
    if (r == 0) {
      if (vm::Clock::now() >= deadline) return timeout_error("no packet from gdbstub");
      continue;
    }
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      fd_.reset();
      return Error(Errc::kIo, "gdbstub closed the connection (QEMU exited?)");
    }
    in_.append(buf, static_cast<size_t>(n));
  }
}

void GdbClient::queue_stop(StopEvent ev) {
  if (stops_.size() >= kMaxQueuedStops) stops_.pop_front();
  stops_.push_back(std::move(ev));
}

Result<std::string> GdbClient::command(std::string_view data, Deadline deadline) {
  KTSTR_TRY(send_packet(data));
  while (true) {
    KTSTR_ASSIGN(std::string reply, read_packet(deadline),
                 fmt::format("waiting for the reply to '{}'", shown(data)));
    if (auto stop = parse_stop_reply(reply); stop.ok()) {
      queue_stop(std::move(stop).value());
      continue;
    }
    // Acked at once: the VM is stopped while we talk to the stub, so this
    // ack cannot stop a running VM.
    KTSTR_TRY(send_raw("+"));
    return reply;
  }
}

Status GdbClient::watchpoint(char op, uint64_t addr, unsigned len, Deadline deadline) {
  const char* verb = op == 'Z' ? "set" : "clear";
  KTSTR_ASSIGN(std::string reply, command(fmt::format("{}2,{:x},{:x}", op, addr, len), deadline),
               fmt::format("{} write watchpoint at {:#x}", verb, addr));
  if (reply == "OK") return {};
  if (reply.empty())
    return unavailable(fmt::format(
        "gdbstub does not support write watchpoints ({} at {:#x}+{}: empty reply)", verb, addr,
        len));
  if (reply[0] == 'E')
    return Error(Errc::kFailed, fmt::format("gdbstub refused to {} write watchpoint at {:#x}+{}: {}",
                                            verb, addr, len, shown(reply)));
  return protocol_error(fmt::format("gdbstub answered '{}' to {} write watchpoint at {:#x}",
                                    shown(reply), verb, addr));
}

Status GdbClient::set_write_watchpoint(uint64_t addr, unsigned len, Deadline deadline) {
  return watchpoint('Z', addr, len, deadline);
}

Status GdbClient::clear_write_watchpoint(uint64_t addr, unsigned len, Deadline deadline) {
  return watchpoint('z', addr, len, deadline);
}

Status GdbClient::resume() { return send_packet("c"); }

// '+' first: while QEMU awaits an ack for a stop reply we left unacked it
// swallows any other byte, 0x03 included. Either byte stops a running VM.
Status GdbClient::interrupt() { return send_raw("+\x03"); }

Result<StopEvent> GdbClient::wait_stop(Deadline deadline) {
  while (stops_.empty()) {
    KTSTR_ASSIGN(std::string packet, read_packet(deadline), "waiting for a stop reply");
    auto stop = parse_stop_reply(packet);
    if (!stop.ok()) continue;  // a late reply to nothing we wait for
    stops_.push_back(std::move(stop).value());
  }
  StopEvent ev = std::move(stops_.front());
  stops_.pop_front();
  return ev;
}

Status GdbClient::detach(Deadline deadline) {
  if (!connected()) return {};
  // A running VM would eat the '$' of "D"; stop it first (no-op if stopped).
  Status st = interrupt();
  if (st.ok()) {
    auto reply = command("D", deadline);
    if (!reply.ok())
      st = std::move(reply).error();
    else if (*reply != "OK")
      st = protocol_error(fmt::format("gdbstub answered '{}' to detach", shown(*reply)));
  }
  fd_.reset();
  in_.clear();
  stops_.clear();
  return st;
}

}  // namespace ktstr::freeze
