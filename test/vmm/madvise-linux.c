/* The errnos of madvise/mlock cases on this machine's kernel, one "name errno" line each (0 = success). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#define PG 4096
static void out(const char* name, int r) { printf("%s %s\n", name, r == 0 ? "0" : strerrorname_np(errno)); }
int main(void) {
  char* b = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* sh = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  out("unaligned", madvise(b + 1, PG, MADV_DONTNEED));
  out("bad-advice", madvise(b, PG, 12345));
  out("zero-length", madvise(b, 0, MADV_DONTNEED));
  out("wraps", madvise(b, (size_t)-PG, MADV_DONTNEED));
  b[0] = 7;
  out("dontneed", madvise(b, PG, MADV_DONTNEED));
  printf("after-dontneed %d\n", b[0]);
  b[PG] = 9;
  out("free", madvise(b + PG, PG, MADV_FREE));
  b[PG] = 11;
  printf("after-free-write %d\n", b[PG]);
  out("cold", madvise(b, 2 * PG, MADV_COLD));
  out("pageout", madvise(b, 2 * PG, MADV_PAGEOUT));
  out("free-shared", madvise(sh, PG, MADV_FREE));
  out("dontneed-shared", madvise(sh, PG, MADV_DONTNEED));
  munmap(b + 6 * PG, PG); /* a hole at page 6 */
  out("hole", madvise(b + 4 * PG, 4 * PG, MADV_DONTNEED));
  out("mlock-hole", mlock(b + 4 * PG, 4 * PG));
  int r = mlock(b + 2 * PG + 5, 10); /* rounds to page 2 */
  out("mlock-unaligned", r);
  if (r == 0) {
    out("dontneed-locked", madvise(b + 2 * PG, PG, MADV_DONTNEED));
    out("free-locked", madvise(b + 2 * PG, PG, MADV_FREE));
    out("cold-locked", madvise(b + 2 * PG, PG, MADV_COLD));
    out("pageout-locked", madvise(b + 2 * PG, PG, MADV_PAGEOUT));
    out("munlock", munlock(b + 2 * PG, PG));
    out("dontneed-unlocked", madvise(b + 2 * PG, PG, MADV_DONTNEED));
  }
  out("munlock-hole", munlock(b + 4 * PG, 4 * PG));
  return 0;
}
