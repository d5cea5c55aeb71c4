#include "vm/qmp.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <mutex>

#include <fmt/format.h>

#include "util/files.h"

namespace ktstr::vm {

using nlohmann::json;

namespace {

// QEMU is semi-trusted: cap a single message so a bad peer cannot make us
// buffer without bound.
constexpr size_t kMaxMessage = 16u << 20;

std::string excerpt(std::string_view s) {
  std::string out(s.substr(0, 80));
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

int poll_ms(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<long>(left.count(), 1000));
}

}  // namespace

struct Qmp::Impl {
  UniqueFd fd;
  std::mutex mu;
  std::string buf;
  std::deque<QmpEvent> events;
  json version;
  uint64_t next_id = 1;
  bool connected = true;

  // Moves complete lines out of buf; returns the first non-empty one.
  std::optional<std::string> take_line() {
    while (true) {
      auto nl = buf.find('\n');
      if (nl == std::string::npos) return std::nullopt;
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (!trim(line).empty()) return line;
    }
  }

  // One read into buf, waiting at most until `deadline` (0 ms = no wait).
  // Returns false on timeout; errors on EOF/IO.
  Result<bool> fill(Deadline deadline) {
    if (!connected) return io_error_closed();
    pollfd pfd{fd.get(), POLLIN, 0};
    while (true) {
      int r = ::poll(&pfd, 1, poll_ms(deadline));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return io_error("QMP poll");
      if (r == 0) {
        if (Clock::now() >= deadline) return false;
        continue;
      }
      break;
    }
    char tmp[65536];
    ssize_t n;
    do {
      n = ::read(fd.get(), tmp, sizeof tmp);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return io_error("reading the QMP socket");
    if (n == 0) {
      connected = false;
      return io_error_closed();
    }
    buf.append(tmp, static_cast<size_t>(n));
    if (buf.size() > kMaxMessage && buf.find('\n') == std::string::npos)
      return protocol_error(fmt::format("QMP message longer than {} bytes", kMaxMessage));
    return true;
  }

  static Error io_error_closed() { return Error(Errc::kIo, "QMP socket closed by QEMU"); }

  // Next JSON message before the deadline.
  Result<json> read_message(Deadline deadline) {
    while (true) {
      if (auto line = take_line()) {
        json j = json::parse(*line, nullptr, false);
        if (j.is_discarded() || !j.is_object())
          return protocol_error("malformed QMP message: " + excerpt(*line));
        return j;
      }
      KTSTR_ASSIGN(bool got, fill(deadline));
      if (!got) return timeout_error("no QMP message before the deadline");
    }
  }

  // Buffers an event; returns false if `j` is not one.
  bool absorb_event(const json& j) {
    if (!j.contains("event")) return false;
    QmpEvent e;
    e.name = j["event"].is_string() ? j["event"].get<std::string>() : "";
    e.data = j.contains("data") ? j["data"] : json(nullptr);
    e.timestamp = j.contains("timestamp") ? j["timestamp"] : json(nullptr);
    events.push_back(std::move(e));
    if (events.size() > kMaxEvents) events.pop_front();
    return true;
  }

  // Reads what is available now; buffers events, drops stray replies.
  Status drain() {
    while (connected) {
      auto got = fill(Clock::now());
      if (!got.ok()) {
        if (!connected) break;  // EOF: keep what we have
        return std::move(got).error();
      }
      if (!*got) break;
    }
    while (auto line = take_line()) {
      json j = json::parse(*line, nullptr, false);
      if (j.is_object()) absorb_event(j);
    }
    return {};
  }
};

Qmp::Qmp() = default;
Qmp::~Qmp() = default;
Qmp::Qmp(Qmp&&) noexcept = default;
Qmp& Qmp::operator=(Qmp&&) noexcept = default;
Qmp::Qmp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<Qmp> Qmp::connect(UniqueFd fd, Deadline deadline) {
  auto impl = std::make_unique<Impl>();
  impl->fd = std::move(fd);
  KTSTR_ASSIGN(json greeting, impl->read_message(deadline), "waiting for the QMP greeting");
  if (!greeting.contains("QMP") || !greeting["QMP"].is_object())
    return protocol_error("expected a QMP greeting, got: " + excerpt(greeting.dump()));
  impl->version = greeting["QMP"].value("version", json::object());
  Qmp qmp(std::move(impl));
  KTSTR_TRY(qmp.execute("qmp_capabilities", nullptr, deadline), "negotiating QMP capabilities");
  return qmp;
}

Result<json> Qmp::execute(std::string_view cmd, const json& args, Deadline deadline) {
  if (!impl_) return Error(Errc::kInternal, "QMP client is not connected");
  std::lock_guard lock(impl_->mu);
  const std::string ctx = fmt::format("qmp {}", cmd);
  if (!impl_->connected) return Impl::io_error_closed().context(ctx);
  const uint64_t id = impl_->next_id++;
  json req = {{"execute", std::string(cmd)}, {"id", id}};
  if (!args.is_null()) req["arguments"] = args;
  KTSTR_TRY(write_all(impl_->fd.get(), req.dump() + "\n"), ctx);
  while (true) {
    KTSTR_ASSIGN(json msg, impl_->read_message(deadline), ctx);
    if (impl_->absorb_event(msg)) continue;
    // A reply to an earlier command that timed out: skip it.
    if (msg.contains("id") && msg["id"] != json(id)) continue;
    if (msg.contains("return")) return msg["return"];
    if (msg.contains("error")) {
      const json& e = msg["error"];
      std::string cls = e.is_object() ? e.value("class", "Error") : "Error";
      std::string desc = e.is_object() ? e.value("desc", "") : e.dump();
      return Error(Errc::kFailed, fmt::format("{}: {}: {}", ctx, cls, desc));
    }
    return protocol_error(ctx + ": unexpected QMP message: " + excerpt(msg.dump()));
  }
}

Status Qmp::stop() {
  KTSTR_TRY(execute("stop"));
  return {};
}

Status Qmp::cont() {
  KTSTR_TRY(execute("cont"));
  return {};
}

Status Qmp::quit(Deadline deadline) {
  auto r = execute("quit", nullptr, deadline);
  if (r.ok() || r.error().code() == Errc::kIo) return {};
  return std::move(r).error();
}

Result<std::string> Qmp::query_status() {
  KTSTR_ASSIGN(json r, execute("query-status"));
  if (!r.is_object() || !r.contains("status") || !r["status"].is_string())
    return protocol_error("qmp query-status: reply has no status: " + excerpt(r.dump()));
  return r["status"].get<std::string>();
}

Result<std::vector<QmpCpu>> Qmp::query_cpus_fast() {
  KTSTR_ASSIGN(json r, execute("query-cpus-fast"));
  if (!r.is_array()) return protocol_error("qmp query-cpus-fast: reply is not a list");
  std::vector<QmpCpu> out;
  for (const json& c : r) {
    if (!c.is_object() || !c.contains("cpu-index") || !c.contains("thread-id") ||
        !c["cpu-index"].is_number_integer() || !c["thread-id"].is_number_integer())
      return protocol_error("qmp query-cpus-fast: entry lacks cpu-index/thread-id: " +
                            excerpt(c.dump()));
    out.push_back({c["cpu-index"].get<int>(), c["thread-id"].get<pid_t>()});
  }
  return out;
}

std::vector<QmpEvent> Qmp::events() {
  if (!impl_) return {};
  std::lock_guard lock(impl_->mu);
  (void)impl_->drain();
  std::vector<QmpEvent> out(std::make_move_iterator(impl_->events.begin()),
                            std::make_move_iterator(impl_->events.end()));
  impl_->events.clear();
  return out;
}

Result<QmpEvent> Qmp::wait_event(std::string_view name, Deadline deadline) {
  if (!impl_) return Error(Errc::kInternal, "QMP client is not connected");
  const std::string ctx = fmt::format("waiting for QMP event {}", name);
  while (true) {
    {
      std::lock_guard lock(impl_->mu);
      for (auto it = impl_->events.begin(); it != impl_->events.end(); ++it) {
        if (it->name == name) {
          QmpEvent e = std::move(*it);
          impl_->events.erase(it);
          return e;
        }
      }
      // Wait in short slices so execute() from another thread gets a turn.
      auto slice = std::min(deadline, deadline_in(std::chrono::milliseconds(50)));
      auto got = impl_->fill(slice);
      if (!got.ok()) return std::move(got).error().context(ctx);
      while (auto line = impl_->take_line()) {
        json j = json::parse(*line, nullptr, false);
        if (!j.is_object())
          return protocol_error("malformed QMP message: " + excerpt(*line)).context(ctx);
        impl_->absorb_event(j);
      }
    }
    if (Clock::now() >= deadline) {
      std::lock_guard lock(impl_->mu);
      bool found = false;
      for (auto& e : impl_->events) found = found || e.name == name;
      if (!found) return timeout_error(ctx + ": none before the deadline");
    }
  }
}

const json& Qmp::version() const {
  static const json kNull;
  return impl_ ? impl_->version : kNull;
}

bool Qmp::connected() const {
  if (!impl_) return false;
  std::lock_guard lock(impl_->mu);
  return impl_->connected;
}

}  // namespace ktstr::vm
