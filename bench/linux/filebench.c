/* The real kernel doing what vmsim's file benchmarks do (bench/files.ts), timed on this machine,
 * in the directory given as argv[1] (a disk filesystem). Prints one JSON object of ns per
 * operation: read faults on a cached file's pages with fault-around (16 pages a fault) and
 * without (one-page mappings, so the window is the page), MAP_PRIVATE copy on write of a
 * cached page (do_cow_fault), dropping clean cached pages (POSIX_FADV_DONTNEED) and writing
 * back dirty ones (fsync, real disk I/O included). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL
#define PAGES 16384UL

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static void die(const char *what) {
  printf("{\"error\": \"%s failed\"}\n", what);
  exit(1);
}

/* A cached file of PAGES pages, written with write(2) and fsynced (clean). */
static int cached_file(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) die("open");
  static char buf[PG * 64];
  memset(buf, 1, sizeof buf);
  for (unsigned long i = 0; i < PAGES; i += 64)
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) die("write");
  fsync(fd);
  return fd;
}

static double best(double *v, int n) {
  double b = v[0];
  for (int i = 1; i < n; i++)
    if (v[i] < b) b = v[i];
  return b;
}

int main(int argc, char **argv) {
  if (argc < 2) die("argv");
  char path[512];
  snprintf(path, sizeof path, "%s/filebench.data", argv[1]);
  int fd = cached_file(path);
  double runs[5];

  /* Read faults with fault-around: each maps the 16 cached pages of its window. */
  for (int r = 0; r < 5; r++) {
    volatile uint8_t *p = mmap(NULL, PAGES * PG, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap");
    double t0 = now_ns();
    for (unsigned long i = 0; i < PAGES; i++) (void)p[i * PG];
    runs[r] = (now_ns() - t0) / (PAGES / 16);
    munmap((void *)p, PAGES * PG);
  }
  double around = best(runs, 5);

  /* Without fault-around: one-page mappings a page apart (they do not merge), one fault a page. */
  const unsigned long N1 = 4096;
  for (int r = 0; r < 3; r++) {
    uint8_t *base = mmap(NULL, 2 * N1 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(base, 2 * N1 * PG);
    for (unsigned long i = 0; i < N1; i++)
      if (mmap(base + 2 * i * PG, PG, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, i * PG) == MAP_FAILED) die("mmap one page");
    double t0 = now_ns();
    for (unsigned long i = 0; i < N1; i++) (void)((volatile uint8_t *)base)[2 * i * PG];
    runs[r] = (now_ns() - t0) / N1;
    for (unsigned long i = 0; i < N1; i++) munmap(base + 2 * i * PG, PG);
  }
  double single = best(runs, 3);

  /* MAP_PRIVATE copy on write: a write to a page no read mapped copies the cache page. */
  for (int r = 0; r < 5; r++) {
    uint8_t *p = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) die("mmap private");
    double t0 = now_ns();
    for (unsigned long i = 0; i < PAGES; i++) p[i * PG] = 2;
    runs[r] = (now_ns() - t0) / PAGES;
    munmap(p, PAGES * PG);
  }
  double cow = best(runs, 5);

  /* Dropping clean pages: POSIX_FADV_DONTNEED of the whole cached file. */
  for (int r = 0; r < 5; r++) {
    static char buf[PG * 64];
    for (unsigned long i = 0; i < PAGES; i += 64)
      if (pread(fd, buf, sizeof buf, i * PG) != (ssize_t)sizeof buf) die("pread");
    double t0 = now_ns();
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    runs[r] = (now_ns() - t0) / PAGES;
  }
  double drop = best(runs, 5);

  /* Writing back dirty pages: fsync after dirtying every page (the disk's time included). */
  for (int r = 0; r < 3; r++) {
    static char buf[PG * 64];
    memset(buf, r + 3, sizeof buf);
    for (unsigned long i = 0; i < PAGES; i += 64)
      if (pwrite(fd, buf, sizeof buf, i * PG) != (ssize_t)sizeof buf) die("pwrite");
    double t0 = now_ns();
    fsync(fd);
    runs[r] = (now_ns() - t0) / PAGES;
  }
  double wb = best(runs, 3);

  close(fd);
  unlink(path);
  printf("{\"read_fault_around_ns\": %.1f, \"read_fault_single_ns\": %.1f, \"cow_file_page_ns\": %.1f, \"drop_clean_page_ns\": %.1f, \"writeback_dirty_page_ns\": %.1f}\n", around, single, cow, drop, wb);
  return 0;
}
