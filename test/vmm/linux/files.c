/*
 * Runs the file-mapping experiments test/files/linux-files.test.ts also runs on vmsim, on this
 * machine's kernel, and prints what happened as JSON: page faults per touch (getrusage's
 * ru_minflt + ru_majflt deltas) with the mapping at a 2 MiB-aligned address (MAP_FIXED_NOREPLACE,
 * so the fault-around window, aligned on the page-table index, is the same every run),
 * page-cache residency after reads (mincore), SIGBUS past the end of the file, MAP_PRIVATE
 * copy on write, and the errnos of msync and mmap. The directory to work in is argv[1].
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PG 4096UL
#define ALIGN2M (2UL << 20)

static char dir[512];
static int nfile = 0;

static long faults(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt + u.ru_majflt;
}

/* A file of `pages` pages, page i filled with byte (i % 251) + 1, written with write(2) (so cached), fsynced. */
static int make_file(size_t pages, char *path) {
  snprintf(path, 600, "%s/f%d", dir, nfile++);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  char buf[PG];
  for (size_t i = 0; i < pages; i++) {
    memset(buf, (int)(i % 251) + 1, PG);
    if (write(fd, buf, PG) != (ssize_t)PG) return -1;
  }
  fsync(fd);
  return fd;
}

/* Drops the file's clean pages from the page cache. */
static void drop_cache(int fd) {
  fsync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

/* A free 2 MiB-aligned range of `len` bytes. */
static void *aligned_free(size_t len) {
  uint8_t *r = mmap(NULL, len + ALIGN2M, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uintptr_t a = ((uintptr_t)r + ALIGN2M - 1) & ~(ALIGN2M - 1);
  munmap(r, len + ALIGN2M);
  return (void *)a;
}

static void *map_at(size_t len, int prot, int flags, int fd, off_t off) {
  void *want = aligned_free(len);
  void *p = mmap(want, len, prot, flags | MAP_FIXED_NOREPLACE, fd, off);
  return p == want ? p : MAP_FAILED;
}

/* mincore of [p, p + pages) once readahead I/O in flight has completed (mincore counts only uptodate pages): two equal answers 5 ms apart. */
static void settled(void *p, size_t pages, unsigned char *vec) {
  unsigned char *prev = malloc(pages);
  mincore(p, pages * PG, prev);
  for (int i = 0; i < 400; i++) {
    usleep(5000);
    mincore(p, pages * PG, vec);
    if (memcmp(prev, vec, pages) == 0) break;
    memcpy(prev, vec, pages);
  }
  free(prev);
}

/* Prints the resident pages of [p, p + pages) as ranges "a-b" (inclusive). */
static void residency(const char *key, void *p, size_t pages) {
  unsigned char *vec = malloc(pages);
  settled(p, pages, vec);
  printf("\"%s\":[", key);
  int first = 1;
  for (size_t i = 0; i < pages;) {
    if (!(vec[i] & 1)) {
      i++;
      continue;
    }
    size_t j = i;
    while (j + 1 < pages && (vec[j + 1] & 1)) j++;
    printf("%s\"%zu-%zu\"", first ? "" : ",", i, j);
    first = 0;
    i = j + 1;
  }
  printf("],");
  free(vec);
}

static void touch_counts(const char *key, volatile uint8_t *p, const int *seq, int n) {
  printf("\"%s\":[", key);
  for (int i = 0; i < n; i++) {
    long before = faults();
    (void)p[seq[i] * PG];
    printf("%s%ld", i ? "," : "", faults() - before);
  }
  printf("],");
}

static sigjmp_buf jb;
static volatile int bus_code;
static void on_bus(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)ctx;
  bus_code = si->si_code;
  siglongjmp(jb, 1);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    printf("{\"error\":\"no directory\"}\n");
    return 0;
  }
  snprintf(dir, sizeof dir, "%s", argv[1]);
  char path[600];
  printf("{");

  /* read_ahead_kb of the device that holds the directory. */
  struct stat st;
  stat(dir, &st);
  char sys[256];
  long ra_kb = -1;
  snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/queue/read_ahead_kb", major(st.st_dev), minor(st.st_dev));
  FILE *rf = fopen(sys, "r");
  if (!rf) {
    snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/../queue/read_ahead_kb", major(st.st_dev), minor(st.st_dev));
    rf = fopen(sys, "r");
  }
  if (rf) {
    if (fscanf(rf, "%ld", &ra_kb) != 1) ra_kb = -1;
    fclose(rf);
  }
  printf("\"readAheadKb\":%ld,", ra_kb);

  /* Fault-around on a cached 64-page file, MAP_SHARED and MAP_PRIVATE. */
  static const int seq[] = {0, 1, 15, 16, 31, 40, 63, 5, 33, 47, 48};
  int fd = make_file(64, path);
  uint8_t *m = map_at(64 * PG, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    printf("\"error\":\"mmap\"}\n");
    return 0;
  }
  touch_counts("faultAroundShared", m, seq, 11);
  munmap(m, 64 * PG);
  m = map_at(64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  touch_counts("faultAroundPrivate", m, seq, 11);
  /* MAP_PRIVATE copy on write: a write to a page mapped by a read is one more fault; the file keeps its bytes. */
  {
    long before = faults();
    m[3 * PG + 7] = 0xee;
    long w1 = faults() - before;
    before = faults();
    m[3 * PG + 8] = 0xef;
    long w2 = faults() - before;
    /* A write to a page no read mapped: one fault (do_cow_fault), then a read next to it maps the rest around it. */
    uint8_t *fresh = map_at(64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    before = faults();
    fresh[10 * PG] = 0xaa;
    long w3 = faults() - before;
    before = faults();
    (void)((volatile uint8_t *)fresh)[11 * PG];
    long r11 = faults() - before;
    before = faults();
    (void)((volatile uint8_t *)fresh)[9 * PG];
    long r9 = faults() - before;
    munmap(fresh, 64 * PG);
    uint8_t b = 0;
    pread(fd, &b, 1, 3 * PG + 7);
    /* Later file changes show in pages not copied, not in copied ones. */
    uint8_t v = 0x77;
    pwrite(fd, &v, 1, 4 * PG);
    pwrite(fd, &v, 1, 3 * PG + 100);
    printf("\"cow\":{\"firstWrite\":%ld,\"secondWrite\":%ld,\"writeFresh\":%ld,\"readAfter\":%ld,\"readBefore\":%ld,\"fileByte\":%d,\"copied\":%d,\"uncopied\":%d,\"copiedOther\":%d},", w1, w2, w3, r11, r9, b, m[3 * PG + 7], m[4 * PG], m[3 * PG + 100]);
  }
  munmap(m, 64 * PG);
  /* The window clamped to the mapping: 40 pages from file page 8, mapped 5 pages past a 2 MiB boundary. */
  {
    uint8_t *w = aligned_free(64 * PG);
    uint8_t *o = mmap(w + 5 * PG, 40 * PG, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 8 * PG);
    static const int around[] = {0, 10, 11, 26, 27, 39, 1};
    touch_counts("faultAroundClamped", o, around, 7);
    munmap(o, 40 * PG);
  }
  close(fd);
  unlink(path);

  /* Fault-around stops at the end of the file: a 10-page file mapped over 32 pages. */
  {
    fd = make_file(10, path);
    uint8_t *e = map_at(32 * PG, PROT_READ, MAP_SHARED, fd, 0);
    static const int upto[] = {0, 9, 3};
    touch_counts("faultAroundEof", e, upto, 3);
    munmap(e, 32 * PG);
    close(fd);
    unlink(path);
  }

  /* Fault-around on a tmpfs (shmem) file. */
  {
    char name[64];
    snprintf(name, sizeof name, "/vmsim-probe-%d", (int)getpid());
    int sfd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    char buf[PG];
    for (int i = 0; i < 64; i++) {
      memset(buf, i + 1, PG);
      write(sfd, buf, PG);
    }
    uint8_t *s = map_at(64 * PG, PROT_READ, MAP_SHARED, sfd, 0);
    touch_counts("faultAroundShmem", s, seq, 11);
    munmap(s, 64 * PG);
    /* A fresh object's pages: every first touch allocates (no page to map around). */
    ftruncate(sfd, 128 * PG);
    s = map_at(64 * PG, PROT_READ, MAP_SHARED, sfd, 64 * PG);
    static const int fresh[] = {0, 1, 2, 16};
    touch_counts("shmemFresh", s, fresh, 4);
    munmap(s, 64 * PG);
    close(sfd);
    shm_unlink(name);
  }

  /* mmap read-around on a cold file: faults (and majors) per touch, residency after each. */
  {
    fd = make_file(1024, path);
    drop_cache(fd);
    uint8_t *c = map_at(1024 * PG, PROT_READ, MAP_SHARED, fd, 0);
    residency("coldBefore", c, 1024);
    static const int touches[] = {0, 1, 100, 101, 600, 700};
    printf("\"coldTouches\":[");
    for (int i = 0; i < 6; i++) {
      struct rusage u0, u1;
      getrusage(RUSAGE_SELF, &u0);
      (void)((volatile uint8_t *)c)[touches[i] * PG];
      getrusage(RUSAGE_SELF, &u1);
      printf("%s[%ld,%ld]", i ? "," : "", (u1.ru_minflt + u1.ru_majflt) - (u0.ru_minflt + u0.ru_majflt), u1.ru_majflt - u0.ru_majflt);
    }
    printf("],");
    residency("coldAfter", c, 1024);
    munmap(c, 1024 * PG);
    close(fd);
    unlink(path);
  }

  /* read(2) readahead: sequential one-page reads of a cold file, residency after chosen reads. */
  {
    fd = make_file(4096, path);
    drop_cache(fd);
    uint8_t *c = mmap(NULL, 4096 * PG, PROT_READ, MAP_SHARED, fd, 0);
    char buf[PG];
    printf("\"readSeq\":{");
    int first = 1;
    for (int i = 0; i < 300; i++) {
      pread(fd, buf, PG, (off_t)i * PG);
      if (i == 0 || i == 1 || i == 3 || i == 4 || i == 19 || i == 20 || i == 83 || i == 84 || i == 299) {
        if (!first) printf(",");
        first = 0;
        printf("\"%d\":", i);
        /* residency() prints a trailing comma; print the array by hand. */
        unsigned char *vec = malloc(4096);
        settled(c, 4096, vec);
        printf("[");
        int f2 = 1;
        for (size_t a = 0; a < 4096;) {
          if (!(vec[a] & 1)) {
            a++;
            continue;
          }
          size_t b = a;
          while (b + 1 < 4096 && (vec[b + 1] & 1)) b++;
          printf("%s\"%zu-%zu\"", f2 ? "" : ",", a, b);
          f2 = 0;
          a = b + 1;
        }
        printf("]");
        free(vec);
      }
    }
    printf("},");
    munmap(c, 4096 * PG);
    close(fd);
    unlink(path);
    /* Small reads far into a cold file, opened afresh: read as they are, nothing more. */
    fd = make_file(4096, path);
    drop_cache(fd);
    close(fd);
    fd = open(path, O_RDONLY);
    c = mmap(NULL, 4096 * PG, PROT_READ, MAP_SHARED, fd, 0);
    pread(fd, buf, PG, 3000 * PG);
    pread(fd, buf, PG, 1000 * PG);
    residency("readRandom", c, 4096);
    munmap(c, 4096 * PG);
    close(fd);
    unlink(path);
  }

  /* SIGBUS past the end of the file: a 1.5-page file mapped over 3 pages. */
  {
    snprintf(path, sizeof path, "%s/bus", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char buf[PG + PG / 2];
    memset(buf, 9, sizeof buf);
    write(fd, buf, sizeof buf);
    volatile uint8_t *b = mmap(NULL, 3 * PG, PROT_READ, MAP_SHARED, fd, 0);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, &old);
    int tailByte = b[PG + PG / 2 + 10];
    int inside = b[PG + 10];
    int page2 = 0;
    bus_code = 0;
    if (sigsetjmp(jb, 1) == 0) (void)b[2 * PG];
    else page2 = 1;
    int code2 = bus_code;
    /* After truncation to one page, page 1 is SIGBUS too. */
    ftruncate(fd, PG);
    int page1 = 0;
    bus_code = 0;
    if (sigsetjmp(jb, 1) == 0) (void)b[PG];
    else page1 = 1;
    sigaction(SIGBUS, &old, NULL);
    printf("\"sigbus\":{\"inside\":%d,\"tailByte\":%d,\"page2\":%d,\"code\":%d,\"busAdrerr\":%d,\"afterTruncate\":%d,\"code1\":%d},", inside, tailByte, page2, code2, BUS_ADRERR, page1, bus_code);
    munmap((void *)b, 3 * PG);
    close(fd);
    unlink(path);
  }

  /* msync's errors. */
  {
    fd = make_file(4, path);
    uint8_t *s = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    s[0] = 1;
#define TRY(expr) (errno = 0, (expr) == 0 ? 0 : errno)
    printf("\"msync\":{");
    printf("\"ok\":%d,", TRY(msync(s, 4 * PG, MS_SYNC)));
    printf("\"async\":%d,", TRY(msync(s, 4 * PG, MS_ASYNC)));
    printf("\"invalidate\":%d,", TRY(msync(s, 4 * PG, MS_INVALIDATE)));
    printf("\"none\":%d,", TRY(msync(s, 4 * PG, 0)));
    printf("\"unaligned\":%d,", TRY(msync(s + 1, PG, MS_SYNC)));
    printf("\"syncAndAsync\":%d,", TRY(msync(s, PG, MS_SYNC | MS_ASYNC)));
    printf("\"badFlag\":%d,", TRY(msync(s, PG, 8)));
    printf("\"lengthZero\":%d,", TRY(msync(s, 0, MS_SYNC)));
    printf("\"partial\":%d,", TRY(msync(s, PG + 1, MS_SYNC)));
    munmap(s + 2 * PG, PG);
    printf("\"hole\":%d,", TRY(msync(s, 4 * PG, MS_SYNC)));
    printf("\"unmapped\":%d,", TRY(msync(s + 2 * PG, PG, MS_SYNC)));
    uint8_t *anon = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("\"anonymous\":%d,", TRY(msync(anon, PG, MS_SYNC)));
    mlock(s, PG);
    printf("\"lockedInvalidate\":%d,", TRY(msync(s, PG, MS_INVALIDATE)));
    printf("\"lockedSync\":%d", TRY(msync(s, PG, MS_SYNC)));
    munlock(s, PG);
    printf("},");
    munmap(anon, PG);
    munmap(s, 4 * PG);
    close(fd);
    unlink(path);
  }

  /* mmap's errors and the mapped file's life. */
  {
    fd = make_file(2, path);
    int ro = open(path, O_RDONLY);
    printf("\"mmap\":{");
    void *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 1);
    printf("\"unalignedOffset\":%d,", p == MAP_FAILED ? errno : 0);
    p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    printf("\"sharedWriteReadOnly\":%d,", p == MAP_FAILED ? errno : 0);
    p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    printf("\"privateWriteReadOnly\":%d,", p == MAP_FAILED ? errno : 0);
    if (p != MAP_FAILED) munmap(p, PG);
    p = mmap(NULL, 8 * PG, PROT_READ, MAP_SHARED, fd, 0);
    printf("\"pastEnd\":%d,", p == MAP_FAILED ? errno : 0);
    /* unlink while mapped: the mapping keeps the file's bytes. */
    unlink(path);
    int after = ((volatile uint8_t *)p)[PG + 3];
    printf("\"unlinkedByte\":%d", after);
    printf("},");
    munmap(p, 8 * PG);
    close(ro);
    close(fd);
  }

  /* MADV_REMOVE (a hole punched through a shared mapping) and MADV_PAGEOUT of clean file pages. */
  {
    fd = make_file(8, path);
    int ro = open(path, O_RDONLY);
    volatile uint8_t *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    volatile uint8_t *b = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    for (int i = 0; i < 8; i++) (void)a[i * PG], (void)b[i * PG];
    b[2 * PG] = 42; /* a private copy of page 2 */
    printf("\"remove\":{\"ok\":%d,", madvise((void *)(a + 2 * PG), 4 * PG, MADV_REMOVE) ? errno : 0);
    residency("cached", (void *)a, 8);
    printf("\"shared\":[");
    for (int i = 0; i < 8; i++) printf("%s%d", i ? "," : "", a[i * PG]);
    printf("],\"private\":[");
    for (int i = 0; i < 8; i++) printf("%s%d", i ? "," : "", b[i * PG]);
    struct stat sb;
    fstat(fd, &sb);
    printf("],\"size\":%ld,", (long)sb.st_size);
    printf("\"privateMapping\":%d,", madvise((void *)b, PG, MADV_REMOVE) ? errno : 0);
    void *r = mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0);
    printf("\"readOnlyFile\":%d,", madvise(r, PG, MADV_REMOVE) ? errno : 0);
    mlock((void *)a, PG);
    printf("\"locked\":%d", madvise((void *)a, PG, MADV_REMOVE) ? errno : 0);
    munlock((void *)a, PG);
    printf("},");
    munmap(r, PG);
    munmap((void *)a, 8 * PG);
    munmap((void *)b, 8 * PG);
    close(ro);
    close(fd);
    unlink(path);
    /* MADV_PAGEOUT: the clean pages only this process's one mapping maps go; page 4, mapped twice, stays. */
    fd = make_file(8, path);
    volatile uint8_t *c = mmap(NULL, 8 * PG, PROT_READ, MAP_SHARED, fd, 0);
    volatile uint8_t *d = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 4 * PG);
    for (int i = 0; i < 8; i++) (void)c[i * PG];
    (void)d[0];
    printf("\"pageout\":{\"ok\":%d,", madvise((void *)c, 6 * PG, MADV_PAGEOUT) ? errno : 0);
    residency("cached", (void *)c, 8);
    long before = faults();
    (void)c[PG];
    printf("\"refault\":%ld},", faults() - before);
    munmap((void *)c, 8 * PG);
    munmap((void *)d, PG);
    close(fd);
    unlink(path);
  }

  printf("\"done\":1}\n");
  return 0;
}
