/*
 * A process that maps, touches, forks, mlocks and madvises at fixed offsets from a 2 MiB-aligned
 * base, then prints its own /proc files as JSON: the smaps blocks of its regions (raw lines),
 * the top bits (55-63) of the pagemap entry of each page, and /proc/self/status before and
 * after. Built and run at test time by test/vmm/procfs-linux.test.ts, which makes vmsim do the
 * same and compares. Nothing here allocates from the heap after the baseline (stdio buffers
 * would grow RSS): /proc files are read with read(2) into buffers touched before it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096UL
#define HUGE (2UL << 20)
#define SPAN (8UL << 20)

static char status0[8192], status1[8192], smaps[1 << 20];
static uint64_t pm[4096];

static long slurp(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  long n = 0, r;
  while ((r = read(fd, buf + n, size - 1 - n)) > 0) n += r;
  close(fd);
  buf[n] = 0;
  return n;
}

static char *base;
static int failed;

static char *map(unsigned long off, unsigned long len, int prot, int flags, int fd, off_t foff) {
  char *p = mmap(base + off, len, prot, flags | MAP_FIXED_NOREPLACE | (fd < 0 ? MAP_ANONYMOUS : 0), fd, foff);
  if (p != base + off) failed = 1;
  return p;
}

static void json_string(const char *s, const char *end) {
  putchar('"');
  for (; s < end; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    if (*s == '\t') fputs("\\t", stdout);
    else if (*s != '\n') putchar(*s);
  }
  putchar('"');
}

/* The lines of `buf` as a JSON array. */
static void json_lines(const char *buf) {
  putchar('[');
  int first = 1;
  for (const char *s = buf; *s;) {
    const char *e = strchr(s, '\n');
    if (!e) e = s + strlen(s);
    if (!first) putchar(',');
    json_string(s, e);
    first = 0;
    s = *e ? e + 1 : e;
  }
  putchar(']');
}

/* The smaps blocks of the regions inside [base, base + SPAN), each a JSON array of its lines. */
static void json_smaps(void) {
  putchar('[');
  int first = 1, on = 0;
  for (char *s = smaps; *s;) {
    char *e = strchr(s, '\n');
    if (!e) break;
    unsigned long a, b;
    char dash;
    int header = sscanf(s, "%lx%c%lx", &a, &dash, &b) == 3 && dash == '-' && strchr(s, ' ') < e;
    if (header) {
      if (on) putchar(']');
      on = a >= (unsigned long)base && b <= (unsigned long)base + SPAN;
      if (on) {
        if (!first) putchar(',');
        putchar('[');
        first = 0;
        json_string(s, e);
      }
    } else if (on) {
      putchar(',');
      json_string(s, e);
    }
    s = e + 1;
  }
  if (on) putchar(']');
  putchar(']');
}

static const struct { const char *name; unsigned long off, pages; } REGIONS[] = {
  {"A", 0, 8}, {"B", 16, 4}, {"C", 32, 4}, {"D", 48, 4}, {"E", 64, 4}, {"F", 80, 8}, {"G", 96, 4}, {"H", 112, 4},
  {"S", 128, 4}, {"P", 144, 4}, {"N", 160, 4}, {"T", 512, 1024},
};

int main(void) {
  /* A deep stack and every buffer touched now, so nothing below adds resident pages of its own. */
  volatile char deep[256 << 10];
  memset((char *)deep, 1, sizeof deep);
  memset(status0, 1, sizeof status0);
  memset(status1, 1, sizeof status1);
  memset(smaps, 1, sizeof smaps);
  memset(pm, 1, sizeof pm);
  char *scratch = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  scratch[0] = 1;
  char *res = mmap(NULL, SPAN + HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  base = (char *)(((uintptr_t)res + HUGE - 1) & ~(HUGE - 1));
  munmap(res, SPAN + HUGE);
  char shm_name[64];
  snprintf(shm_name, sizeof shm_name, "/vmsim-procfs-%d", (int)getpid());
  int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || ftruncate(fd, 4 * PG)) failed = 1;
  shm_unlink(shm_name);
  /* Baseline: the high-water mark is reset to the RSS now (clear_refs 5). */
  int cr = open("/proc/self/clear_refs", O_WRONLY);
  if (cr < 0 || write(cr, "5", 1) != 1) failed = 1;
  slurp("/proc/self/status", status0, sizeof status0);

  /* D: written, then forked: the child keeps the pages shared; the parent writes page 3 (COW). */
  char *d = map(48 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, -1, 0);
  for (int i = 0; i < 4; i++) d[i * PG] = 1;
  int pipefd[2];
  if (pipe(pipefd)) failed = 1;
  pid_t child = fork();
  if (child == 0) {
    char c;
    close(pipefd[1]);
    if (read(pipefd[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  close(pipefd[0]);
  d[3 * PG] = 2;
  /* A: pages 0 and 1 written, page 2 read (the zero page); then MADV_DONTNEED of page 1. */
  char *a = map(0, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, -1, 0);
  a[0] = 1;
  a[PG] = 1;
  volatile char sink = a[2 * PG];
  madvise(a + PG, PG, MADV_DONTNEED);
  /* B: read-only, page 0 read. */
  char *b = map(16 * PG, 4 * PG, PROT_READ, MAP_PRIVATE, -1, 0);
  sink = b[0];
  /* C: shared anonymous, page 0 written, page 1 read. */
  char *c = map(32 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, -1, 0);
  c[0] = 1;
  sink = c[PG];
  /* E: written and mlocked whole. */
  char *e = map(64 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, -1, 0);
  for (int i = 0; i < 4; i++) e[i * PG] = 1;
  if (mlock(e, 4 * PG)) failed = 1;
  /* F: written, MADV_FREE of pages 0-3, page 1 written again; an mlock elsewhere drains the per-CPU
   * LRU batches, so the freed pages are lazily freeable now (they would be soon anyway). */
  char *f = map(80 * PG, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, -1, 0);
  for (int i = 0; i < 8; i++) f[i * PG] = 1;
  madvise(f, 4 * PG, MADV_FREE);
  f[PG] = 2;
  mlock(scratch, PG);
  munlock(scratch, PG);
  /* G: PROT_NONE. H: read-execute, page 0 read. */
  map(96 * PG, 4 * PG, PROT_NONE, MAP_PRIVATE, -1, 0);
  char *h = map(112 * PG, 4 * PG, PROT_READ | PROT_EXEC, MAP_PRIVATE, -1, 0);
  sink = h[0];
  /* S: the shared memory object shared, page 0 written. P: it privately from page 1: page 0 read, page 1 written. */
  char *s = map(128 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  s[0] = 1;
  char *p = map(144 * PG, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PG);
  sink = p[0];
  p[PG] = 2;
  /* N: MAP_NORESERVE, page 0 written. */
  char *n = map(160 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, -1, 0);
  n[0] = 1;
  /* T: 4 MiB with MADV_HUGEPAGE: the first 2 MiB block written (a THP), the second read (the huge zero page). */
  char *t = map(512 * PG, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, -1, 0);
  madvise(t, 2 * HUGE, MADV_HUGEPAGE);
  t[0] = 1;
  sink = t[HUGE];
  (void)sink;

  slurp("/proc/self/status", status1, sizeof status1);
  slurp("/proc/self/smaps", smaps, sizeof smaps);
  int pfd = open("/proc/self/pagemap", O_RDONLY);
  printf("{\"failed\":%d,\"base\":%lu,\"pagemap\":{", failed, (unsigned long)base);
  for (unsigned r = 0; r < sizeof REGIONS / sizeof REGIONS[0]; r++) {
    unsigned long pages = REGIONS[r].pages;
    if (pread(pfd, pm, pages * 8, ((uintptr_t)base / PG + REGIONS[r].off) * 8) != (ssize_t)(pages * 8)) failed = 1;
    printf("%s\"%s\":[", r ? "," : "", REGIONS[r].name);
    for (unsigned long i = 0; i < pages; i++) printf("%s%u", i ? "," : "", (unsigned)(pm[i] >> 55));
    putchar(']');
  }
  printf("},\"status0\":");
  json_lines(status0);
  printf(",\"status1\":");
  json_lines(status1);
  printf(",\"smaps\":");
  json_smaps();
  printf("}\n");
  fflush(stdout);
  if (write(pipefd[1], "x", 1) != 1) return 1;
  waitpid(child, NULL, 0);
  return 0;
}
