/*
 * Probes where vm.max_map_count bites on this kernel, without changing the sysctl: fills the
 * address space with one-page mappings that cannot merge until mmap fails, then sets the map
 * count to each value around the limit and tries every call that adds regions. Prints JSON:
 * counts relative to max_map_count, and which calls succeed at each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#define PG 4096L

/* Lines of /proc/self/maps but the gate area, read with plain syscalls: stdio would allocate and add a VMA. */
static long map_count(void) {
  static char buf[1 << 16];
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0) return -1;
  long n = 0, vsys = 0;
  ssize_t k;
  while ((k = read(fd, buf, sizeof buf - 1)) > 0) {
    for (ssize_t i = 0; i < k; i++) n += buf[i] == '\n';
    buf[k] = 0;
    if (strstr(buf, "[vsyscall]")) vsys = 1; /* short last line: it never straddles two reads in practice */
  }
  close(fd);
  return n - vsys;
}

int main(void) {
  static char out[1 << 16];
  setvbuf(stdout, out, _IOFBF, sizeof out); /* no allocation (and no new VMA) when printing */
  FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
  long max = 0;
  if (!f || fscanf(f, "%ld", &max) != 1) { printf("{\"error\":\"no /proc/sys/vm/max_map_count\"}\n"); return 0; }
  fclose(f);
  /* The 3-page rw region the probes split, between PROT_NONE guards so that it merges with nothing. */
  char *guard = mmap(NULL, 5 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *probe = mmap(guard + PG, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  sbrk(PG); /* the heap exists before the probes grow it */
  static char *fill[1 << 22];
  long nfill = 0;
  int err = 0;
  for (;;) {
    /* Alternate protections so neighbours never merge: every mmap adds exactly one VMA. */
    char *p = mmap(NULL, PG, (nfill & 1) ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { err = errno; break; }
    if (nfill == (1 << 22)) break;
    fill[nfill++] = p;
  }
  long full = map_count();
  printf("{\"max\":%ld,\"fullMinusMax\":%ld,\"mmapErrno\":%d,\"at\":[", max, full - max, err);
  /* Release fillers from the most recent down to set the count; refill to go back up. */
  long cur = full;
  int first = 1;
  for (long target = max + 1; target >= max - 3; target--) {
    while (cur > target) { munmap(fill[--nfill], PG); cur--; }
    long c0 = map_count();
    printf("%s{\"countMinusMax\":%ld", first ? "" : ",", c0 - max);
    first = 0;
    /* Each probe starts from one fresh 3-page rw region and reports its errno and how many VMAs it added. */
    for (int op = 0; op < 8; op++) {
      munmap(probe, 3 * PG);
      mmap(probe, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      long c = map_count();
      int r = 0;
      char *p;
      switch (op) {
        case 0: /* mmap of a new, unmergeable page */
          p = mmap(NULL, PG, PROT_EXEC | PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
          r = p == MAP_FAILED ? errno : 0;
          break;
        case 1: r = munmap(probe + PG, PG) ? errno : 0; break;      /* one region becomes two */
        case 2: r = munmap(probe + 2 * PG, PG) ? errno : 0; break;  /* the region shrinks */
        case 3: r = munmap(probe, 3 * PG) ? errno : 0; break;       /* the region goes */
        case 4: r = mprotect(probe + PG, PG, PROT_READ) ? errno : 0; break;     /* one becomes three */
        case 5: r = mprotect(probe + 2 * PG, PG, PROT_READ) ? errno : 0; break; /* one becomes two */
        case 6: /* MAP_FIXED of another protection over the middle page: one becomes three */
          p = mmap(probe + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
          r = p == MAP_FAILED ? errno : 0;
          break;
        case 7: r = sbrk(PG) == (void *)-1 ? errno : 0; break; /* brk grows the heap region */
      }
      static const char *names[] = {"mmap", "munmapMiddle", "munmapEdge", "munmapWhole", "mprotectMiddle", "mprotectEdge", "fixedMiddle", "brk"};
      printf(",\"%s\":[%d,%ld]", names[op], r, map_count() - c);
      if (op == 0 && r == 0) munmap(p, PG);
      if (op == 7 && r == 0) sbrk(-PG);
    }
    printf("}");
    munmap(probe, 3 * PG);
    mmap(probe, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  }
  printf("],\"ENOMEM\":%d}\n", ENOMEM);
  return 0;
}
