// ELF loader (vmm/src/boot/elf_loader): a static x86-64 image goes into guest
// RAM at its physical addresses with .bss zeroed; everything else is refused
// with a message saying what is wrong: not ELF, wrong class/byte order/
// machine/type, program headers or segment bytes outside the file (truncated
// files), segments outside RAM or over the boot structures, vaddr != paddr,
// no loadable segment, an entry point outside the executable segments.
// Images are built by hand in memory; one goes through a temporary file.
#include "boot/elf_loader.hpp"

#include <doctest/doctest.h>
#include <elf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "nfv/guest/boot_abi.hpp"

using namespace nfv::vmm;

namespace {

constexpr uint64_t kBase = nfv::guest::kImageBase;
constexpr uint64_t kRam = 8u << 20;

// Two segments: text (RX, 0x100 bytes of 0xc3 at kBase) and data (RW, 16 file
// bytes of 0x5a + 0x1000 bytes of .bss at kBase + 0x10000).
struct Image {
  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> ph;
  std::vector<uint8_t> text = std::vector<uint8_t>(0x100, 0xc3);
  std::vector<uint8_t> data = std::vector<uint8_t>(16, 0x5a);

  Image() {
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = kBase + 0x10;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    Elf64_Phdr t{};
    t.p_type = PT_LOAD;
    t.p_flags = PF_R | PF_X;
    t.p_vaddr = t.p_paddr = kBase;
    t.p_filesz = t.p_memsz = text.size();
    t.p_align = 0x1000;
    Elf64_Phdr d = t;
    d.p_flags = PF_R | PF_W;
    d.p_vaddr = d.p_paddr = kBase + 0x10000;
    d.p_filesz = data.size();
    d.p_memsz = data.size() + 0x1000;
    Elf64_Phdr note{};
    note.p_type = PT_NOTE;  // not loaded, whatever it says
    note.p_paddr = note.p_vaddr = 0x10;
    note.p_memsz = 1 << 30;
    ph = {t, d, note};
  }
  std::vector<uint8_t> bytes() {
    eh.e_phnum = static_cast<uint16_t>(ph.size());
    const uint64_t text_off = sizeof eh + ph.size() * sizeof(Elf64_Phdr);
    if (ph.size() > 0 && ph[0].p_offset == 0) ph[0].p_offset = text_off;
    if (ph.size() > 1 && ph[1].p_offset == 0) ph[1].p_offset = text_off + text.size();
    std::vector<uint8_t> out(text_off + text.size() + data.size());
    // An empty vector's data() may be null, which memcpy must not get even for 0 bytes.
    auto put = [&](uint64_t at, const void* src, std::size_t n) {
      if (n != 0) std::memcpy(out.data() + at, src, n);
    };
    put(0, &eh, sizeof eh);
    put(sizeof eh, ph.data(), ph.size() * sizeof(Elf64_Phdr));
    put(text_off, text.data(), text.size());
    put(text_off + text.size(), data.data(), data.size());
    return out;
  }
};

// The refusal's message for `img`, or "" when it loaded.
std::string refusal(Image img, uint64_t ram_size = kRam) {
  std::vector<uint8_t> ram(ram_size);
  const auto file = img.bytes();
  auto r = load_elf(file, ram, kBase);
  return r ? std::string() : r.error().message;
}

bool has(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("a good image loads at its physical addresses with .bss zeroed") {
  std::vector<uint8_t> ram(kRam, 0xee);
  Image img;
  const auto file = img.bytes();
  auto r = load_elf(file, ram, kBase);
  REQUIRE(r);
  CHECK(r->entry == kBase + 0x10);
  CHECK(r->lowest == kBase);
  CHECK(r->end == kBase + 0x10000 + 16 + 0x1000);
  CHECK(ram[kBase] == 0xc3);
  CHECK(ram[kBase + 0xff] == 0xc3);
  CHECK(ram[kBase + 0x100] == 0xee);  // untouched between segments
  CHECK(ram[kBase + 0x10000] == 0x5a);
  CHECK(ram[kBase + 0x10000 + 15] == 0x5a);
  for (uint64_t a = kBase + 0x10000 + 16; a < r->end; ++a) REQUIRE(ram[a] == 0);
  CHECK(ram[r->end] == 0xee);
  CHECK(ram[0x10] == 0xee);  // the PT_NOTE was not loaded
}

TEST_CASE("wrong magic, class, byte order, machine or type") {
  Image img;
  img.eh.e_ident[1] = 'X';
  CHECK(has(refusal(img), "not an ELF file"));
  img = Image();
  img.eh.e_ident[EI_CLASS] = ELFCLASS32;
  CHECK(has(refusal(img), "64-bit little-endian x86-64"));
  img = Image();
  img.eh.e_ident[EI_DATA] = ELFDATA2MSB;
  CHECK(has(refusal(img), "64-bit little-endian x86-64"));
  img = Image();
  img.eh.e_machine = EM_AARCH64;
  CHECK(has(refusal(img), "64-bit little-endian x86-64"));
  img = Image();
  img.eh.e_type = ET_DYN;
  CHECK(has(refusal(img), "not ET_EXEC"));
  std::vector<uint8_t> ram(kRam);
  std::vector<uint8_t> tiny(10, 0x7f);
  CHECK(has(load_elf(tiny, ram, kBase).error().message, "too short"));
}

TEST_CASE("truncated files and headers pointing outside the file") {
  Image img;
  const auto full = img.bytes();
  std::vector<uint8_t> ram(kRam);
  for (std::size_t cut : {sizeof(Elf64_Ehdr) + 10, full.size() - 1, sizeof(Elf64_Ehdr) - 1}) {
    std::vector<uint8_t> part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    auto r = load_elf(part, ram, kBase);
    REQUIRE(!r);
    CHECK((has(r.error().message, "outside the file") || has(r.error().message, "too short")));
  }
  img = Image();
  img.eh.e_phoff = ~uint64_t{0} - 8;  // would wrap
  CHECK(has(refusal(img), "program header table"));
  img = Image();
  img.eh.e_phentsize = 32;
  CHECK(has(refusal(img), "program header table"));
  img = Image();
  img.ph[0].p_offset = ~uint64_t{0};
  CHECK(has(refusal(img), "outside the file"));
  img = Image();
  img.ph[1].p_filesz = img.ph[1].p_memsz + 1;
  CHECK(has(refusal(img), "file size above memory size"));
  img = Image();
  img.ph.clear();
  CHECK(has(refusal(img), "program header table"));
}

TEST_CASE("segments outside RAM or over the boot structures") {
  Image img;
  img.ph[1].p_paddr = img.ph[1].p_vaddr = kRam - 8;  // runs off the end of RAM
  CHECK(has(refusal(img), "outside guest RAM"));
  img = Image();
  img.ph[1].p_paddr = img.ph[1].p_vaddr = ~uint64_t{0} - 4;  // wraps
  CHECK(has(refusal(img), "outside guest RAM"));
  img = Image();
  img.ph[1].p_paddr = img.ph[1].p_vaddr = nfv::guest::kPageTableAddress;  // over the VMM's page tables
  CHECK(has(refusal(img), "outside guest RAM"));
  img = Image();
  img.ph[1].p_paddr = img.ph[1].p_vaddr = kBase - 8;  // straddles kImageBase
  CHECK(has(refusal(img), "outside guest RAM"));
  img = Image();
  img.ph[1].p_memsz = kRam;  // bigger than RAM
  CHECK(has(refusal(img), "outside guest RAM"));
  img = Image();
  img.ph[1].p_vaddr = 0xffffffff80000000ull;  // a higher-half link
  CHECK(has(refusal(img), "identity addresses"));
}

TEST_CASE("entry point outside the executable segments; no loadable segment") {
  Image img;
  img.eh.e_entry = kBase + 0x100;  // one past the text
  CHECK(has(refusal(img), "entry point"));
  img = Image();
  img.eh.e_entry = kBase + 0x8000;  // between the segments
  CHECK(has(refusal(img), "entry point"));
  img = Image();
  img.eh.e_entry = kBase + 0x10000;  // in the data segment (not executable)
  CHECK(has(refusal(img), "executable"));
  img = Image();
  img.eh.e_entry = 0;
  CHECK(has(refusal(img), "entry point"));
  img = Image();
  img.ph[0].p_type = PT_NULL;
  img.ph[1].p_type = PT_NULL;
  CHECK(has(refusal(img), "no loadable segment"));
  img = Image();
  img.ph[0].p_memsz = img.ph[0].p_filesz = 0;  // empty segments are skipped
  img.eh.e_entry = kBase + 0x10;
  CHECK(has(refusal(img), "entry point"));
}

TEST_CASE("load_elf_file: from a file; missing and oversized files") {
  Image img;
  const auto file = img.bytes();
  char path[] = "/tmp/nfv-elf-test-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, file.data(), file.size()) == static_cast<ssize_t>(file.size()));
  ::close(fd);
  std::vector<uint8_t> ram(kRam);
  auto r = load_elf_file(path, ram, kBase);
  CHECK(r);
  CHECK(ram[kBase] == 0xc3);
  REQUIRE(::truncate(path, 100) == 0);
  auto cut = load_elf_file(path, ram, kBase);
  REQUIRE(!cut);
  CHECK(has(cut.error().message, path));  // names the file
  ::unlink(path);
  auto missing = load_elf_file(path, ram, kBase);
  REQUIRE(!missing);
  CHECK(missing.error().code == nfv::Errc::not_found);
}
