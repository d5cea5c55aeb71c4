// A stand-in for qemu-system-x86_64 in Machine tests. It reads the
// chardev sockets and mem-path files from its command line, connects like
// QEMU does, echoes the bulk port, and answers a few QMP commands.
// KTSTR_FAKE_QEMU_MODE selects the behaviour:
//   (unset)    run until "quit" (or the custom "x-fake-poweroff")
//   exit       print an error to stderr and exit 1 at once
//   panic      after the QMP handshake, print a kernel panic and exit 0
//   noconnect  never connect; sleep until killed
//   stubborn   ignore SIGTERM and do not exit on "quit"
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

// key=value options of "a=1,b=2" (with ",," as a literal comma).
std::map<std::string, std::string> options(const std::string& s) {
  std::map<std::string, std::string> out;
  std::string cur;
  std::vector<std::string> parts;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',' && i + 1 < s.size() && s[i + 1] == ',') {
      cur += ',';
      ++i;
    } else if (s[i] == ',') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += s[i];
    }
  }
  parts.push_back(cur);
  for (auto& p : parts) {
    auto eq = p.find('=');
    if (eq == std::string::npos)
      out[p] = "";
    else
      out[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return out;
}

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::fprintf(stderr, "fake-qemu: cannot connect to %s: %s\n", path.c_str(),
                 std::strerror(errno));
    std::exit(3);
  }
  return fd;
}

void put(int fd, const std::string& s) {
  if (fd >= 0) (void)!::write(fd, s.data(), s.size());
}

}  // namespace

int main(int argc, char** argv) {
  const char* m = std::getenv("KTSTR_FAKE_QEMU_MODE");
  std::string mode = m ? m : "";
  if (mode == "exit") {
    std::fprintf(stderr, "qemu-system-x86_64: -machine pc: fake failure\n");
    return 1;
  }
  if (mode == "noconnect") {
    while (true) ::pause();
  }
  if (mode == "stubborn") ::signal(SIGTERM, SIG_IGN);

  std::map<std::string, std::string> sockets;  // chardev id -> path
  std::vector<std::string> mem_paths;
  int ncpus = 1;
  for (int i = 1; i + 1 < argc; ++i) {
    std::string flag = argv[i], val = argv[i + 1];
    if (flag == "-chardev" && val.rfind("socket,", 0) == 0) {
      auto o = options(val);
      sockets[o["id"]] = o["path"];
    } else if (flag == "-object") {
      auto o = options(val);
      if (o.count("mem-path")) mem_paths.push_back(o["mem-path"]);
    } else if (flag == "-smp") {
      ncpus = std::atoi(options(val)["cpus"].c_str());
    }
  }
  for (auto& p : mem_paths) {
    if (::access(p.c_str(), R_OK | W_OK) != 0) {
      std::fprintf(stderr, "fake-qemu: mem-path %s: %s\n", p.c_str(), std::strerror(errno));
      return 2;
    }
  }
  int con = sockets.count("con") ? connect_to(sockets["con"]) : -1;
  int bulk = connect_to(sockets.at("bulk"));
  int qmp = connect_to(sockets.at("qmp"));

  put(con, "fake: booting\r\n");
  for (auto& p : mem_paths) put(con, "fake: ram " + p + "\n");
  put(qmp,
      R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fake"}, "capabilities": []}})"
      "\n");
  std::string qbuf;
  while (true) {
    pollfd fds[2] = {{qmp, POLLIN, 0}, {bulk, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    char buf[4096];
    if (fds[1].revents) {
      ssize_t n = ::read(bulk, buf, sizeof buf);
      if (n > 0)
        put(bulk, std::string(buf, static_cast<size_t>(n)));
      else
        fds[1].fd = -1;
    }
    if (!fds[0].revents) continue;
    ssize_t n = ::read(qmp, buf, sizeof buf);
    if (n <= 0) {
      while (true) ::pause();  // like QEMU: the guest runs on without QMP
    }
    qbuf.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = qbuf.find('\n')) != std::string::npos) {
      json req = json::parse(qbuf.substr(0, nl), nullptr, false);
      qbuf.erase(0, nl + 1);
      if (!req.is_object()) continue;
      std::string cmd = req.value("execute", "");
      json reply = {{"id", req.contains("id") ? req["id"] : json(nullptr)}};
      bool exit_after = false;
      if (cmd == "qmp_capabilities" || cmd == "stop" || cmd == "cont") {
        reply["return"] = json::object();
      } else if (cmd == "query-status") {
        reply["return"] = {{"status", "running"}, {"running", true}};
      } else if (cmd == "query-cpus-fast") {
        json cpus = json::array();
        for (int c = 0; c < ncpus; ++c)
          cpus.push_back({{"cpu-index", c}, {"thread-id", ::getpid() + c}});
        reply["return"] = cpus;
      } else if (cmd == "quit") {
        reply["return"] = json::object();
        exit_after = mode != "stubborn";
      } else if (cmd == "x-fake-poweroff") {
        reply["return"] = json::object();
        put(con, "[    2.0] reboot: Power down\n");
        exit_after = true;
      } else {
        reply["error"] = {{"class", "CommandNotFound"},
                          {"desc", "The command " + cmd + " has not been found"}};
      }
      put(qmp, reply.dump() + "\n");
      if (mode == "panic" && cmd == "qmp_capabilities") {
        put(con,
            "[    1.0] Kernel panic - not syncing: fake\n"
            "[    1.0] ---[ end Kernel panic - not syncing: fake ]---\n");
        return 0;  // -no-reboot: a panicking guest ends QEMU
      }
      if (exit_after) {
        put(qmp,
            R"({"event": "SHUTDOWN", "data": {"guest": true}, "timestamp": {"seconds": 0, "microseconds": 0}})"
            "\n");
        return 0;
      }
    }
  }
}
