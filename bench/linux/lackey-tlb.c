/*
 * The yardstick for lackey text replay (npm run bench): a plain C program that reads a lackey
 * trace (`I  0400d7d4,8`, ` L 7ff0001b8,8`, ...), parses each access line and looks the page(s)
 * it touches up in a set-associative LRU TLB of ENTRIES entries and WAYS ways (vmsim's default:
 * 64, 4), then prints its lookups and misses. It does what vmsim's replay of the same file does
 * minus the page tables, faults and VMM: a replay that keeps up with it is bound by nothing
 * but reading and looking up.
 *
 *   cc -O2 -o lackey-tlb lackey-tlb.c && ./lackey-tlb FILE [ENTRIES WAYS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static unsigned sets, ways;
static uint64_t *tags; /* sets * ways page numbers + 1 (0 = empty) */
static uint64_t *stamps;
static uint64_t now, lookups, misses;

static void lookup(uint64_t page) {
  uint64_t *t = tags + (page % sets) * ways, *s = stamps + (page % sets) * ways;
  uint64_t key = page + 1;
  unsigned victim = 0;
  lookups++;
  for (unsigned w = 0; w < ways; w++) {
    if (t[w] == key) {
      s[w] = ++now;
      return;
    }
    if (s[w] < s[victim]) victim = w;
  }
  misses++;
  t[victim] = key;
  s[victim] = ++now;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  unsigned entries = argc > 2 ? (unsigned)atoi(argv[2]) : 64;
  ways = argc > 3 ? (unsigned)atoi(argv[3]) : 4;
  sets = entries / ways;
  tags = calloc(entries, sizeof *tags);
  stamps = calloc(entries, sizeof *stamps);
  FILE *f = fopen(argv[1], "r");
  if (!f) return 1;
  static char buf[1 << 20];
  uint64_t lines = 0, records = 0;
  size_t keep = 0;
  for (;;) {
    size_t n = fread(buf + keep, 1, sizeof buf - keep, f);
    size_t len = keep + n;
    if (len == 0) break;
    size_t end = len;
    if (n > 0) {
      while (end > 0 && buf[end - 1] != '\n') end--;
      if (end == 0) end = len;
    }
    char *p = buf, *e = buf + end;
    while (p < e) {
      char *nl = memchr(p, '\n', (size_t)(e - p));
      if (!nl) nl = e;
      lines++;
      char *q = p;
      while (q < nl && (*q == ' ' || *q == '\t')) q++;
      if (q < nl && (*q == 'I' || *q == 'L' || *q == 'S' || *q == 'M') && q + 1 < nl && (q[1] == ' ' || q[1] == '\t')) {
        q++;
        while (q < nl && (*q == ' ' || *q == '\t')) q++;
        uint64_t a = 0;
        int d, digits = 0;
        while (q < nl && (d = hexval(*q)) >= 0) {
          a = a << 4 | (uint64_t)d;
          q++;
          digits++;
        }
        uint64_t size = 1;
        if (q < nl && *q == ',') {
          size = 0;
          for (q++; q < nl && *q >= '0' && *q <= '9'; q++) size = size * 10 + (uint64_t)(*q - '0');
        }
        if (digits > 0 && size >= 1 && size <= 4096) {
          uint64_t first = (a & 0xffffffffffffull) >> 12, last = ((a & 0xffffffffffffull) + size - 1) >> 12;
          lookup(first);
          if (last != first) lookup(last);
          records++;
        }
      }
      p = nl + 1;
    }
    keep = len - end;
    memmove(buf, buf + end, keep);
    if (n == 0) break;
  }
  printf("{\"lines\":%llu,\"records\":%llu,\"lookups\":%llu,\"misses\":%llu}\n", (unsigned long long)lines, (unsigned long long)records, (unsigned long long)lookups, (unsigned long long)misses);
  return 0;
}
