// ElfLoader (see the header).
#include "boot/elf_loader.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace nfv::vmm {

Result<LoadedImage> load_elf(std::span<const uint8_t> file, std::span<uint8_t> ram, uint64_t lowest) {
  Elf64_Ehdr eh;
  if (file.size() < sizeof eh) return make_error(Errc::invalid_argument, "not an ELF file: too short");
  std::memcpy(&eh, file.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return make_error(Errc::invalid_argument, "not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64) {
    return make_error(Errc::invalid_argument, "not a 64-bit little-endian x86-64 ELF");
  }
  if (eh.e_type != ET_EXEC) {
    return make_error(Errc::invalid_argument,
                      "ELF type is not ET_EXEC: link the guest statically at a fixed address (no PIE)");
  }
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64 ||
      eh.e_phoff > file.size() || file.size() - eh.e_phoff < uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr)) {
    return make_error(Errc::invalid_argument, "ELF program header table is missing or outside the file");
  }
  LoadedImage img;
  img.lowest = UINT64_MAX;
  unsigned loads = 0;
  bool entry_ok = false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, file.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    const uint64_t pa = ph.p_paddr;
    if (ph.p_vaddr != pa) {
      // The guest starts on identity page tables: its entry point and code are virtual addresses.
      return make_error(Errc::invalid_argument,
                        fmt::format("ELF segment {}: virtual address {:#x} differs from its physical address {:#x}; "
                                    "link the guest with identity addresses (no AT())",
                                    i, ph.p_vaddr, pa));
    }
    if (ph.p_filesz > ph.p_memsz) {
      return make_error(Errc::invalid_argument, fmt::format("ELF segment {}: file size above memory size", i));
    }
    if (ph.p_offset > file.size() || file.size() - ph.p_offset < ph.p_filesz) {
      return make_error(Errc::invalid_argument, fmt::format("ELF segment {}: its bytes lie outside the file", i));
    }
    if (pa < lowest || pa > ram.size() || ram.size() - pa < ph.p_memsz) {
      return make_error(Errc::invalid_argument,
                        fmt::format("ELF segment {} at {:#x} (+{:#x} bytes) is outside guest RAM {:#x}..{:#x}; link "
                                    "the guest at or above {:#x} or give the VM more memory",
                                    i, pa, ph.p_memsz, lowest, ram.size(), lowest));
    }
    std::memcpy(ram.data() + pa, file.data() + ph.p_offset, ph.p_filesz);
    std::memset(ram.data() + pa + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    if (eh.e_entry >= pa && eh.e_entry - pa < ph.p_memsz && (ph.p_flags & PF_X)) entry_ok = true;
    img.lowest = std::min(img.lowest, pa);
    img.end = std::max(img.end, pa + ph.p_memsz);
    ++loads;
  }
  if (loads == 0) return make_error(Errc::invalid_argument, "ELF has no loadable segment");
  if (!entry_ok) {
    return make_error(Errc::invalid_argument,
                      fmt::format("ELF entry point {:#x} is not inside an executable segment", eh.e_entry));
  }
  img.entry = eh.e_entry;
  return img;
}

Result<LoadedImage> load_elf_file(const std::string& path, std::span<uint8_t> ram, uint64_t lowest) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(Errc::not_found, path + ": cannot open: " + std::strerror(errno));
  f.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(f.tellg());
  if (size > (256u << 20)) return make_error(Errc::invalid_argument, path + ": larger than 256 MiB; not a guest image");
  f.seekg(0);
  std::vector<uint8_t> bytes(size);
  if (!f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    return make_error(Errc::io, path + ": read failed");
  }
  auto r = load_elf(bytes, ram, lowest);
  if (!r) return make_error(r.error().code, path + ": " + r.error().message);
  return r;
}

}  // namespace nfv::vmm
