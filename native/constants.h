// Mirror of src/core/constants.ts: the numbers both backends share. The addon exports them
// (binding.cc, `constants`) and test/core/constants.test.ts checks that the two agree.
#pragma once
#include <cstdint>

namespace vmsim {

constexpr uint64_t P = 1, RW = 2, US = 4, PWT = 8, PCD = 16, A = 32, D = 64, PS = 128, G = 256;
constexpr uint64_t SW_COW = 1 << 9, SW_SHARED = 1 << 10, PAT_LARGE = 1 << 12;
constexpr uint64_t NX = 1ull << 63;
constexpr uint64_t ADDR_MASK = 0x000FFFFFFFFFF000ull;
constexpr uint64_t ATTR_LO = 0xF7E;
constexpr uint64_t INTER_USER = 0x67, INTER_KERNEL = 0x63;

constexpr int OK = 0, ENOENT_ = -2, ENOMEM_ = -12, EFAULT_ = -14, EEXIST_ = -17, EINVAL_ = -22;

constexpr int F_NXE = 1, F_SMEP = 2, F_SMAP = 4, F_PCIDE = 8, F_WP = 16;
constexpr int PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_I = 16;

enum CounterIndex { C_HITS = 0, C_MISSES, C_WALKS, C_FLUSHES, C_INVLPG, C_EVICTIONS, C_FAULTS, C_READS, C_WRITES, C_EXECUTES, C_BAD_ENTRIES, C_LENGTH = 16 };
enum ResultIndex { R_A = 0, R_B, R_C, R_D, R_E, R_F, R_G, R_H, R_LENGTH = 8 };

// core.tlbOps: operations of TLB_OP_FIELDS numbers each, [op, cpu, a, b, c, d].
enum TlbOpCode { TLB_OP_INVLPG = 0, TLB_OP_FLUSH_PCID = 1, TLB_OP_FLUSH_ALL = 2, TLB_OP_LOAD_CR3 = 3, TLB_OP_FIELDS = 6 };

constexpr uint8_t T_VALID = 1, T_WRITABLE = 2, T_USER = 4, T_NX = 8, T_DIRTY = 16, T_GLOBAL = 32;
constexpr uint32_t GLOBAL_TAG = 4096;

constexpr uint64_t PAGE_SHIFT = 12, PAGE_SIZE = 1ull << PAGE_SHIFT;
constexpr uint64_t TWO47 = 1ull << 47, TWO48 = 1ull << 48;
constexpr uint64_t CHUNK_BYTES = 1ull << 30;

// The packed trace record (src/trace/trace-record.ts): lo = address bits 0-31; hi = address
// bits 32-47 | kind << 16 | (size - 1) << 18; bits 30-31 must be zero.
constexpr uint32_t REC_ADDR_HI_MASK = 0xFFFF, REC_KIND_SHIFT = 16, REC_KIND_MASK = 3, REC_SIZE_SHIFT = 18, REC_SIZE_MASK = 0xFFF, REC_RESERVED_SHIFT = 30;

}  // namespace vmsim
