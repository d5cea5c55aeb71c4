// Where guest RAM sits in guest-physical space, learnt from QEMU itself:
// the flattened memory tree (HMP `info mtree -f`, through QMP
// human-monitor-command) lists every RAM piece with its backend region and
// offset, including the holes below 4 GiB (VGA, option ROMs, PCI).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "guestmem/phys_memory.h"
#include "util/result.h"
#include "vm/qmp.h"

namespace ktstr::guestmem {

// Parses the FlatView of address space "memory" in `info mtree -f` output.
// Only RAM pieces whose region name is a key of `backends` (memdev id ->
// shm file, e.g. "mem0" -> /dev/shm/ktstr-...-node0) are kept. The flat
// view already resolves the pc machine's aliases ("ram-below-4g",
// "ram-above-4g" into "pc.ram") to the backend itself, printed as
// "mem1 @0000000040000000": the offset is the offset inside that backend's
// file. Pieces of kind "ram" and, once the firmware has write-protected
// the BIOS shadow (PAM), "rom" pieces of a backend are both RAM of that
// file. Adjacent pieces of one file are merged. Errors name the line that
// could not be understood. Verified against QEMU 7.2 (tests/unit/guestmem/data).
Result<std::vector<RamRange>> parse_flat_mtree(
    std::string_view text, const std::map<std::string, std::filesystem::path>& backends);

// Runs `info mtree -f` over QMP and parses it.
Result<std::vector<RamRange>> query_ram_layout(
    vm::Qmp& qmp, const std::map<std::string, std::filesystem::path>& backends);

}  // namespace ktstr::guestmem
