// The lackey text parser's hot loop (lackey_scan.cc).
#pragma once
#include <cstddef>
#include <cstdint>

struct LackeyScan {
  size_t pos;      // where parsing stopped: end, a full chunk, or the start of a line of another shape
  uint32_t count;  // records in words now
};

// Parses whole lines of buf[pos, end) (buf[end - 1] is '\n') of lackey's two shapes into packed
// records at words[2 * count ...], up to cap records.
LackeyScan ScanLackey(const uint8_t* buf, size_t pos, size_t end, uint32_t* words, uint32_t count, uint32_t cap);
