#include "initramfs/cpio_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <span>
#include <vector>

#include "util/fd.h"
#include "util/files.h"
#include "util/scope_guard.h"

namespace ktstr::initramfs {

namespace {

// Big blocks: fewer write syscalls; the last block is not padded.
constexpr int kBlockBytes = 256 * 1024;
constexpr size_t kReadChunk = 1 << 20;

struct WriteArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

// Where archive bytes go; remembers the first sink error for the caller.
struct Sink {
  int fd = -1;
  std::string* mem = nullptr;
  Status status;
};

la_ssize_t sink_write(archive*, void* ctx, const void* buf, size_t n) {
  auto* s = static_cast<Sink*>(ctx);
  if (s->mem) {
    s->mem->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  auto st = write_all(s->fd, std::span<const uint8_t>(static_cast<const uint8_t*>(buf), n));
  if (!st.ok()) {
    s->status = std::move(st);
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

Status archive_failure(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return Error(Errc::kIo, what + ": " + (msg ? msg : "libarchive error"));
}

}  // namespace

Result<std::string> normalize_guest_path(std::string_view guest_path) {
  if (guest_path.empty() || guest_path[0] != '/') {
    return invalid_argument("guest path '" + std::string(guest_path) +
                            "' must be absolute (start with /)");
  }
  std::string out;
  for (auto& part : split(guest_path, '/')) {
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      return invalid_argument("guest path '" + std::string(guest_path) + "' must not contain '..'");
    }
    if (!out.empty()) {
      out += '/';
    }
    out += part;
  }
  if (out.empty()) {
    return invalid_argument("guest path '/' cannot be an archive entry");
  }
  return out;
}

Status CpioWriter::add(std::string_view guest_path, Entry e) {
  KTSTR_ASSIGN(std::string rel, normalize_guest_path(guest_path), "initramfs");
  auto kind_name = [](Kind k) {
    switch (k) {
      case Kind::kDir:
        return "a directory";
      case Kind::kFile:
      case Kind::kHostFile:
        return "a file";
      case Kind::kSymlink:
        return "a symlink";
      case Kind::kCharDev:
        return "a device";
    }
    return "an entry";
  };
  // Every parent must be a directory (or not yet present).
  std::vector<std::string> parents;
  for (size_t pos = rel.find('/'); pos != std::string::npos; pos = rel.find('/', pos + 1)) {
    std::string parent = rel.substr(0, pos);
    auto it = entries_.find(parent);
    if (it == entries_.end()) {
      parents.push_back(std::move(parent));
    } else if (it->second.kind != Kind::kDir) {
      return invalid_argument("initramfs: cannot add /" + rel + ": /" + parent + " is " +
                              kind_name(it->second.kind) + ", not a directory");
    }
  }
  auto it = entries_.find(rel);
  if (it != entries_.end()) {
    Entry& old = it->second;
    if (old.kind == Kind::kDir && e.kind == Kind::kDir) {
      if (!e.implicit) {
        old.perm = e.perm;
        old.implicit = false;
      }
      return {};
    }
    bool same = old.kind == e.kind && old.perm == e.perm && old.data == e.data &&
                old.major == e.major && old.minor == e.minor &&
                (e.kind == Kind::kSymlink || e.kind == Kind::kCharDev);
    if (same) {
      return {};
    }
    return invalid_argument("initramfs: /" + rel + " added twice (already " + kind_name(old.kind) +
                            ")");
  }
  for (auto& p : parents) {
    entries_.emplace(std::move(p), Entry{Kind::kDir, 0755, true, {}, 0, 0});
  }
  entries_.emplace(std::move(rel), std::move(e));
  return {};
}

Status CpioWriter::add_directory(std::string_view guest_path, mode_t mode) {
  return add(guest_path, Entry{Kind::kDir, mode & 07777, false, {}, 0, 0});
}

Status CpioWriter::add_file(std::string_view guest_path, std::string bytes, mode_t mode) {
  return add(guest_path, Entry{Kind::kFile, mode & 07777, false, std::move(bytes), 0, 0});
}

Status CpioWriter::add_file_from_host(std::string_view guest_path,
                                      const std::filesystem::path& host_path,
                                      std::optional<mode_t> mode) {
  struct stat st;
  if (::stat(host_path.c_str(), &st) != 0) {
    return io_error("initramfs: cannot add " + std::string(guest_path) + " from " +
                    host_path.string());
  }
  if (!S_ISREG(st.st_mode)) {
    return invalid_argument("initramfs: " + host_path.string() +
                            " is not a regular file; only files can be copied as " +
                            std::string(guest_path));
  }
  mode_t perm = mode ? *mode & 07777 : st.st_mode & 0777;
  return add(guest_path, Entry{Kind::kHostFile, perm, false, host_path.string(), 0, 0});
}

Status CpioWriter::add_symlink(std::string_view guest_path, std::string target) {
  if (target.empty()) {
    return invalid_argument("initramfs: symlink " + std::string(guest_path) +
                            " has an empty target");
  }
  return add(guest_path, Entry{Kind::kSymlink, 0777, false, std::move(target), 0, 0});
}

Status CpioWriter::add_char_device(std::string_view guest_path, unsigned major, unsigned minor,
                                   mode_t mode) {
  return add(guest_path, Entry{Kind::kCharDev, mode & 07777, false, {}, major, minor});
}

bool CpioWriter::contains(std::string_view guest_path) const {
  auto rel = normalize_guest_path(guest_path);
  return rel.ok() && entries_.count(*rel) > 0;
}

Status CpioWriter::write_entries(archive* a) const {
  std::unique_ptr<archive_entry, EntryFree> ae(archive_entry_new2(a));
  if (!ae) {
    return Error(Errc::kInternal, "initramfs: out of memory");
  }
  std::vector<char> buf;
  int64_t ino = 0;
  for (const auto& [path, e] : entries_) {
    archive_entry_clear(ae.get());
    archive_entry_set_pathname(ae.get(), path.c_str());
    archive_entry_set_ino(ae.get(), ++ino);
    archive_entry_set_uid(ae.get(), 0);
    archive_entry_set_gid(ae.get(), 0);
    archive_entry_set_mtime(ae.get(), 0, 0);
    archive_entry_set_nlink(ae.get(), e.kind == Kind::kDir ? 2 : 1);
    archive_entry_set_perm(ae.get(), e.perm);

    UniqueFd host_fd;
    int64_t size = 0;
    switch (e.kind) {
      case Kind::kDir:
        archive_entry_set_filetype(ae.get(), AE_IFDIR);
        break;
      case Kind::kFile:
        archive_entry_set_filetype(ae.get(), AE_IFREG);
        size = static_cast<int64_t>(e.data.size());
        break;
      case Kind::kHostFile: {
        host_fd.reset(::open(e.data.c_str(), O_RDONLY | O_CLOEXEC));
        if (!host_fd.valid()) {
          return io_error("initramfs: cannot open " + e.data + " for /" + path);
        }
        struct stat st;
        if (::fstat(host_fd.get(), &st) != 0) {
          return io_error("initramfs: cannot stat " + e.data);
        }
        if (!S_ISREG(st.st_mode)) {
          return invalid_argument("initramfs: " + e.data + " is no longer a regular file");
        }
        archive_entry_set_filetype(ae.get(), AE_IFREG);
        size = st.st_size;
        break;
      }
      case Kind::kSymlink:
        archive_entry_set_filetype(ae.get(), AE_IFLNK);
        archive_entry_set_symlink(ae.get(), e.data.c_str());
        break;
      case Kind::kCharDev:
        archive_entry_set_filetype(ae.get(), AE_IFCHR);
        archive_entry_set_rdevmajor(ae.get(), e.major);
        archive_entry_set_rdevminor(ae.get(), e.minor);
        break;
    }
    archive_entry_set_size(ae.get(), size);
    if (archive_write_header(a, ae.get()) < ARCHIVE_WARN) {
      return archive_failure(a, "initramfs: writing header of /" + path);
    }

    if (e.kind == Kind::kFile) {
      if (!e.data.empty() && archive_write_data(a, e.data.data(), e.data.size()) !=
                                 static_cast<la_ssize_t>(e.data.size())) {
        return archive_failure(a, "initramfs: writing /" + path);
      }
    } else if (e.kind == Kind::kHostFile) {
      if (buf.empty()) {
        buf.resize(kReadChunk);
      }
      int64_t left = size;
      while (left > 0) {
        ssize_t n =
            ::read(host_fd.get(), buf.data(),
                   static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(buf.size()))));
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n < 0) {
          return io_error("initramfs: cannot read " + e.data);
        }
        if (n == 0) {
          return Error(Errc::kIo, "initramfs: " + e.data + " shrank while being archived; retry");
        }
        if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) != n) {
          return archive_failure(a, "initramfs: writing /" + path);
        }
        left -= n;
      }
    }
    if (archive_write_finish_entry(a) < ARCHIVE_WARN) {
      return archive_failure(a, "initramfs: finishing /" + path);
    }
  }
  return {};
}

namespace {

// Opens a newc writer on `sink`, lets `body` add the entries, closes it.
template <typename Body>
Status with_newc_writer(Sink& sink, Body body) {
  std::unique_ptr<archive, WriteArchiveFree> a(archive_write_new());
  if (!a) {
    return Error(Errc::kInternal, "initramfs: out of memory");
  }
  if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a.get(), kBlockBytes) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open2(a.get(), &sink, nullptr, sink_write, nullptr, nullptr) != ARCHIVE_OK) {
    return archive_failure(a.get(), "initramfs: cannot start cpio writer");
  }
  Status st = body(a.get());
  int close_rc = archive_write_close(a.get());
  if (!sink.status.ok()) {
    return std::move(sink.status).error().context("initramfs: writing archive");
  }
  if (!st.ok()) {
    return st;
  }
  if (close_rc != ARCHIVE_OK) {
    return archive_failure(a.get(), "initramfs: finishing archive");
  }
  return {};
}

}  // namespace

Status CpioWriter::write_to_fd(int fd) const {
  Sink sink;
  sink.fd = fd;
  return with_newc_writer(sink, [this](archive* a) { return write_entries(a); });
}

Status CpioWriter::write_to_file(const std::filesystem::path& out) const {
  UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return io_error("initramfs: cannot create " + out.string());
  }
  ScopeGuard remove_partial([&] { ::unlink(out.c_str()); });
  KTSTR_TRY(write_to_fd(fd.get()), out.string());
  if (::close(fd.release()) != 0) {
    return io_error("initramfs: cannot write " + out.string());
  }
  remove_partial.cancel();
  return {};
}

Result<std::string> CpioWriter::write_to_memory() const {
  std::string out;
  Sink sink;
  sink.mem = &out;
  KTSTR_TRY(with_newc_writer(sink, [this](archive* a) { return write_entries(a); }));
  return out;
}

}  // namespace ktstr::initramfs
