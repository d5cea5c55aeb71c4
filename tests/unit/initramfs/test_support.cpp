#include "test_support.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "util/files.h"

namespace ktstr::initramfs::test {

namespace {

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

Error ar_error(archive* a, const std::string& what) {
  const char* m = archive_error_string(a);
  return Error(Errc::kIo, what + ": " + (m ? m : "?"));
}

}  // namespace

Result<std::vector<ReadEntry>> read_archive(std::string_view bytes) {
  std::unique_ptr<archive, ReadFree> a(archive_read_new());
  archive_read_support_format_cpio(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return ar_error(a.get(), "open");
  }
  std::vector<ReadEntry> out;
  archive_entry* e;
  int r;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    ReadEntry re;
    re.path = archive_entry_pathname(e);
    re.type = archive_entry_filetype(e);
    re.perm = archive_entry_perm(e);
    re.size = archive_entry_size(e);
    re.mtime = archive_entry_mtime(e);
    re.uid = archive_entry_uid(e);
    re.gid = archive_entry_gid(e);
    if (const char* s = archive_entry_symlink(e)) {
      re.symlink = s;
    }
    re.rdevmajor = static_cast<unsigned>(archive_entry_rdevmajor(e));
    re.rdevminor = static_cast<unsigned>(archive_entry_rdevminor(e));
    if (re.type == AE_IFREG) {
      re.data.resize(static_cast<size_t>(re.size));
      if (re.size > 0 && archive_read_data(a.get(), re.data.data(), re.data.size()) != re.size) {
        return ar_error(a.get(), "data of " + re.path);
      }
    }
    out.push_back(std::move(re));
  }
  if (r != ARCHIVE_EOF) {
    return ar_error(a.get(), "next header");
  }
  return out;
}

Result<std::vector<ReadEntry>> read_archive_file(const std::filesystem::path& p) {
  KTSTR_ASSIGN(auto bytes, read_file(p));
  return read_archive(bytes);
}

const ReadEntry* find(const std::vector<ReadEntry>& entries, std::string_view path) {
  for (auto& e : entries) {
    if (e.path == path) {
      return &e;
    }
  }
  return nullptr;
}

Result<std::vector<std::string>> walk_newc(std::string_view b, int* trailers) {
  std::vector<std::string> names;
  *trailers = 0;
  size_t off = 0;
  auto hex = [&](size_t at) -> Result<uint32_t> {
    std::string field(b.substr(at, 8));
    size_t used = 0;
    unsigned long v = std::stoul(field, &used, 16);
    if (used != 8) {
      return protocol_error("bad hex field at " + std::to_string(at));
    }
    return static_cast<uint32_t>(v);
  };
  while (off < b.size()) {
    if (b[off] == '\0') {  // padding between archives
      ++off;
      continue;
    }
    if (off % 4 != 0) {
      return protocol_error("header not 4-aligned at " + std::to_string(off));
    }
    if (b.size() - off < 110 || b.substr(off, 6) != "070701") {
      return protocol_error("bad magic at " + std::to_string(off));
    }
    KTSTR_ASSIGN(uint32_t filesize, hex(off + 54));
    KTSTR_ASSIGN(uint32_t namesize, hex(off + 94));
    if (namesize == 0 || off + 110 + namesize > b.size()) {
      return protocol_error("bad name size");
    }
    std::string name(b.substr(off + 110, namesize - 1));
    size_t data = (off + 110 + namesize + 3) & ~size_t{3};
    off = (data + filesize + 3) & ~size_t{3};
    if (off > b.size() + 3) {
      return protocol_error("entry past end: " + name);
    }
    if (name == "TRAILER!!!") {
      ++*trailers;
    } else {
      names.push_back(name);
    }
  }
  return names;
}

Status extract(const std::filesystem::path& archive_path, const std::filesystem::path& dir) {
  KTSTR_ASSIGN(auto bytes, read_file(archive_path));
  std::unique_ptr<archive, ReadFree> a(archive_read_new());
  archive_read_support_format_cpio(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return ar_error(a.get(), "open");
  }
  std::unique_ptr<archive, WriteFree> disk(archive_write_disk_new());
  archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_UNLINK);
  archive_entry* e;
  int r;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) == AE_IFCHR) {
      continue;
    }
    std::string dest = (dir / archive_entry_pathname(e)).string();
    archive_entry_set_pathname(e, dest.c_str());
    if (archive_write_header(disk.get(), e) != ARCHIVE_OK) {
      return ar_error(disk.get(), dest);
    }
    if (archive_entry_size(e) > 0) {
      const void* buf;
      size_t size;
      la_int64_t offset;
      int dr;
      while ((dr = archive_read_data_block(a.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
        if (archive_write_data_block(disk.get(), buf, size, offset) != ARCHIVE_OK) {
          return ar_error(disk.get(), dest);
        }
      }
      if (dr != ARCHIVE_EOF) {
        return ar_error(a.get(), dest);
      }
    }
    if (archive_write_finish_entry(disk.get()) != ARCHIVE_OK) {
      return ar_error(disk.get(), dest);
    }
  }
  if (r != ARCHIVE_EOF) {
    return ar_error(a.get(), "next header");
  }
  return {};
}

Status install_fixture(const std::filesystem::path& dir, bool without_lib) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir / "bin", ec);
  fs::create_directories(dir / "lib", ec);
  fs::copy_file(KTSTR_FIXTURE_BIN, dir / "bin" / "fixture", fs::copy_options::overwrite_existing,
                ec);
  if (ec) {
    return Error(Errc::kIo, "copy fixture: " + ec.message());
  }
  if (!without_lib) {
    fs::path lib = KTSTR_FIXTURE_LIB;
    fs::copy_file(lib, dir / "lib" / lib.filename(), fs::copy_options::overwrite_existing, ec);
    if (ec) {
      return Error(Errc::kIo, "copy fixture lib: " + ec.message());
    }
  }
  return {};
}

}  // namespace ktstr::initramfs::test
