// ElfLoader: puts a static x86-64 ELF executable (the SDK's guest runtime
// linked with a VNF) into guest RAM.
//
// Accepted: ELFCLASS64, little-endian, ET_EXEC, EM_X86_64, at least one
// PT_LOAD; every PT_LOAD segment must lie wholly inside RAM at or above
// `lowest` (the VMM's boot structures sit below it), with p_vaddr == p_paddr
// (the guest starts on identity page tables), p_filesz <= p_memsz and its file
// bytes inside the file; the entry point must lie inside an executable
// (PF_X) segment. The segments are loaded at their
// physical addresses (p_paddr), the bytes past p_filesz zeroed. Anything else
// is refused with a message naming the segment and the rule it breaks; the
// file is never trusted for a size or offset before it is checked.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nfv/result.hpp"

namespace nfv::vmm {

struct LoadedImage {
  uint64_t entry = 0;
  uint64_t lowest = 0;  // first byte of the lowest segment
  uint64_t end = 0;     // first byte after the highest segment
};

// Loads `file` into `ram` (guest-physical 0 .. ram.size()).
Result<LoadedImage> load_elf(std::span<const uint8_t> file, std::span<uint8_t> ram, uint64_t lowest);
// Reads `path` (at most 256 MiB) and loads it.
Result<LoadedImage> load_elf_file(const std::string& path, std::span<uint8_t> ram, uint64_t lowest);

}  // namespace nfv::vmm
