/* The real kernel doing what the vmsim VMM benchmarks do, timed on this machine.
 * Prints one JSON object of ns (or ms) per operation. Anonymous private memory, THP off,
 * so every page is a 4 KiB fault as in the simulator.
 * Run as `vmbench --exec-probe T FD`, it is the new image of the exec benchmark: it writes how
 * long ago (ns) the old image called execve at CLOCK_MONOTONIC time T to FD, and exits. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static void die(const char *what) {
  printf("{\"error\": \"%s failed\"}\n", what);
  exit(1);
}

static char *map(size_t len, int populate) {
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
  if (p == MAP_FAILED) die("mmap");
  madvise(p, len, MADV_NOHUGEPAGE);
  return p;
}

static double median(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j]; v[j] = v[j - 1]; v[j - 1] = t;
    }
  return v[n / 2];
}

/* mremap of 1 GiB of populated memory from `a` to `b` and back, `n` times each way: the median one-way ms. */
static double mremap_1g(char *a, char *b, int n) {
  const size_t GIB = 1ul << 30;
  double runs[9];
  char *p = mmap(a, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != a) die("mmap at a fixed address");
  madvise(p, GIB, MADV_NOHUGEPAGE);
  for (size_t o = 0; o < GIB; o += 4096) p[o] = 1;
  for (int r = 0; r < n; r++) {
    char *from = r % 2 ? b : a, *to = r % 2 ? a : b;
    double t0 = now_ns();
    if (mremap(from, GIB, GIB, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to) die("mremap");
    runs[r] = (now_ns() - t0) / 1e6;
  }
  munmap(n % 2 ? b : a, GIB);
  return median(runs, n);
}

/* A child that makes `resident` bytes resident then execs this program (--exec-probe): the ms from
 * execve to the new image's main, read from the probe. */
static double exec_ms(size_t resident, const char *self) {
  int fd[2];
  if (pipe(fd)) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(fd[0]);
    if (resident) {
      char *p = map(resident, 0);
      for (size_t o = 0; o < resident; o += 4096) p[o] = 1;
    }
    char t[32], f[16];
    double t0 = now_ns();
    snprintf(t, sizeof t, "%.0f", t0);
    snprintf(f, sizeof f, "%d", fd[1]);
    char *argv[] = {(char *)self, "--exec-probe", t, f, NULL};
    execv(self, argv);
    _exit(127);
  }
  close(fd[1]);
  char buf[64] = {0};
  ssize_t got = read(fd[0], buf, sizeof buf - 1);
  close(fd[0]);
  int st;
  waitpid(pid, &st, 0);
  if (got <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) die("exec");
  return atof(buf) / 1e6;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--exec-probe") == 0) {
    double now = now_ns();
    dprintf(atoi(argv[3]), "%.0f", now - atof(argv[2]));
    return 0;
  }
  const size_t PAGE = 4096, SMALL = 64ul << 20, GIB = 1ul << 30;
  double runs[5];

  /* First-touch demand-zero fault, per page. */
  for (int r = 0; r < 5; r++) {
    char *p = map(SMALL, 0);
    double t0 = now_ns();
    for (size_t o = 0; o < SMALL; o += PAGE) p[o] = 1;
    runs[r] = (now_ns() - t0) / (SMALL / PAGE);
    munmap(p, SMALL);
  }
  double first_touch = median(runs, 5);

  /* Populate 1 GiB, fork it (page-table copy), munmap it. */
  double t0 = now_ns();
  char *big = map(GIB, 0);
  for (size_t o = 0; o < GIB; o += PAGE) big[o] = 1;
  double populate_ms = (now_ns() - t0) / 1e6;
  for (int r = 0; r < 5; r++) {
    t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) _exit(0);
    runs[r] = (now_ns() - t0) / 1e6;
    waitpid(pid, NULL, 0);
  }
  double fork_ms = median(runs, 5);
  t0 = now_ns();
  munmap(big, GIB);
  double munmap_ms = (now_ns() - t0) / 1e6;

  /* COW break: the child keeps the pages shared while the parent writes each one. */
  for (int r = 0; r < 3; r++) {
    char *p = map(SMALL, 0);
    for (size_t o = 0; o < SMALL; o += PAGE) p[o] = 1;
    int fd[2];
    if (pipe(fd)) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      char c;
      close(fd[1]);
      if (read(fd[0], &c, 1) < 0) _exit(1);
      _exit(0);
    }
    close(fd[0]);
    t0 = now_ns();
    for (size_t o = 0; o < SMALL; o += PAGE) p[o] = 2;
    runs[r] = (now_ns() - t0) / (SMALL / PAGE);
    if (write(fd[1], "x", 1) != 1) die("write");
    close(fd[1]);
    waitpid(pid, NULL, 0);
    munmap(p, SMALL);
  }
  double cow = median(runs, 3);

  /* mprotect split (middle page read-only) and merge (back to read-write). */
  char *three = map(3 * PAGE, 0);
  const int N = 200000;
  t0 = now_ns();
  for (int i = 0; i < N; i++) {
    if (mprotect(three + PAGE, PAGE, PROT_READ)) die("mprotect");
    if (mprotect(three + PAGE, PAGE, PROT_READ | PROT_WRITE)) die("mprotect");
  }
  double mprot = (now_ns() - t0) / N;
  munmap(three, 3 * PAGE);

  /* mmap + munmap of one untouched page. */
  t0 = now_ns();
  for (int i = 0; i < N; i++) {
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap");
    munmap(p, PAGE);
  }
  double mm = (now_ns() - t0) / N;

  /* mremap moves of 1 GiB: both ends 2 MiB-aligned (whole page tables move), then one page off (entry by entry). */
  char *A = (char *)0x200000200000ul, *B = (char *)0x300000200000ul;
  double mremap_ms = mremap_1g(A, B, 5);
  double mremap_pte_ms = mremap_1g(A, B + PAGE, 5);

  /* exec of a process with 1 GiB resident, and of one with nothing mapped beyond its image. */
  const char *self = "/proc/self/exe";
  char exe[4096];
  ssize_t len = readlink(self, exe, sizeof exe - 1);
  if (len <= 0) die("readlink");
  exe[len] = 0;
  for (int r = 0; r < 5; r++) runs[r] = exec_ms(GIB, exe);
  double exec_1g = median(runs, 5);
  for (int r = 0; r < 5; r++) runs[r] = exec_ms(0, exe);
  double exec_small = median(runs, 5);

  /* Reading /proc/self/smaps whole with 10,000 regions of our own: 2-page chunks of alternating
   * protection (so no two merge), a page written in each writable one. */
  const size_t CHUNKS = 10000;
  char *many = map(CHUNKS * 2 * PAGE, 0);
  for (size_t i = 0; i < CHUNKS; i += 2) many[i * 2 * PAGE] = 1;
  for (size_t i = 1; i < CHUNKS; i += 2)
    if (mprotect(many + i * 2 * PAGE, 2 * PAGE, PROT_READ)) die("mprotect");
  static char buf[64 << 20];
  for (int r = 0; r < 5; r++) {
    t0 = now_ns();
    int fd = open("/proc/self/smaps", O_RDONLY);
    if (fd < 0) die("open smaps");
    long n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {}
    close(fd);
    runs[r] = (now_ns() - t0) / 1e6;
  }
  double smaps_ms = runs[0]; /* the best of five, as vmsim's row takes */
  for (int r = 1; r < 5; r++)
    if (runs[r] < smaps_ms) smaps_ms = runs[r];
  munmap(many, CHUNKS * 2 * PAGE);

  printf("{\"first_touch_fault_ns\": %.1f, \"fork_1g_populated_ms\": %.3f, \"cow_break_ns\": %.1f, \"mprotect_split_merge_ns\": %.1f, "
         "\"mmap_munmap_ns\": %.1f, \"populate_1g_ms\": %.2f, \"munmap_1g_ms\": %.2f, \"smaps_10k_ms\": %.2f, "
         "\"mremap_1g_ms\": %.3f, \"mremap_1g_pte_ms\": %.3f, \"exec_1g_ms\": %.3f, \"exec_small_ms\": %.3f}\n",
         first_touch, fork_ms, cow, mprot, mm, populate_ms, munmap_ms, smaps_ms, mremap_ms, mremap_pte_ms, exec_1g, exec_small);
  return 0;
}
