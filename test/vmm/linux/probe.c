/*
 * Runs the calls a vmsim test also runs, on this machine's kernel, and prints what happened
 * as JSON: errnos, and the /proc/self/maps lines (offsets from a base address) of the range.
 * Built and run at test time by test/vmm/linux-kernel.test.ts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096UL

/* Prints the maps lines inside [base, base+len) as "start-end perms" relative to base. */
static void maps(const char *key, uintptr_t base, size_t len) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int first = 1;
  printf("\"%s\":[", key);
  while (f && fgets(line, sizeof line, f)) {
    unsigned long s, e;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3) continue;
    if (e <= base || s >= base + len) continue;
    printf("%s\"%lx-%lx %s\"", first ? "" : ",", s - base, e - base, perms);
    first = 0;
  }
  printf("],");
  if (f) fclose(f);
}

/* AnonHugePages (kB) of the mapping that starts at base, from /proc/self/smaps. */
static long anon_huge_kb(uintptr_t base) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  int in = 0;
  long kb = -1;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) in = s <= base && base < e;
    else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
  }
  if (f) fclose(f);
  return kb;
}

int main(void) {
  printf("{");
  /* mprotect over a hole: [0,2) rw, hole [2,3), [3,4) rw; mprotect [0,4) to r. */
  uint8_t *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(a + 2 * PG, PG);
  errno = 0;
  int r = mprotect(a, 4 * PG, PROT_READ);
  printf("\"holeErrno\":%d,", r == 0 ? 0 : errno);
  maps("holeMaps", (uintptr_t)a, 4 * PG);
  /* mprotect that starts in a hole changes nothing. */
  errno = 0;
  r = mprotect(a + 2 * PG, 2 * PG, PROT_NONE);
  printf("\"startHoleErrno\":%d,", r == 0 ? 0 : errno);
  maps("startHoleMaps", (uintptr_t)a, 4 * PG);
  munmap(a, 4 * PG);

  /* THP: a read fault maps the huge zero page (no anonymous huge page), a write then splits it. */
  uint8_t *raw = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *h = (uint8_t *)(((uintptr_t)raw + (2 << 20) - 1) & ~((uintptr_t)(2 << 20) - 1));
  int adv = madvise(h, 2 << 20, MADV_HUGEPAGE);
  volatile uint8_t v = h[100];
  (void)v;
  printf("\"thpMadvise\":%d,\"thpAfterRead\":%ld,", adv, anon_huge_kb((uintptr_t)raw));
  h[100] = 1;
  printf("\"thpAfterWrite\":%ld,", anon_huge_kb((uintptr_t)raw));
  /* a fresh block written first gets a huge page */
  uint8_t *raw2 = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *h2 = (uint8_t *)(((uintptr_t)raw2 + (2 << 20) - 1) & ~((uintptr_t)(2 << 20) - 1));
  madvise(h2, 2 << 20, MADV_HUGEPAGE);
  h2[100] = 1;
  printf("\"thpWriteFirst\":%ld", anon_huge_kb((uintptr_t)raw2));
  printf("}\n");
  return 0;
}
