/*
 * A small interpreter of memory programs, run by this machine's kernel: the tests generate
 * programs (test/support/vm-program.ts), run them here and in vmsim, and compare what each
 * step did. Programs come on stdin, one per block ending in a line "end"; each line is one
 * step: a name and integer arguments, addresses as page offsets from a fixed window.
 *
 * For every step it prints one JSON object on a line: the call's errno ("r", 0 on success),
 * a value when the step has one ("v": a byte read, mincore's vector, mremap's new offset),
 * the minor and major faults it took (getrusage deltas), the change of VmRSS and VmLck (in
 * pages) and the window's regions as /proc/self/smaps shows them ("start-end perms flags").
 * After each program the window is unmapped and the locks and limits undone.
 *
 * Everything the interpreter itself touches is faulted in before the first step (its stack,
 * its buffers, the C library's code paths), and it never allocates, so the deltas are the
 * steps' own. THP is off for the process (PR_SET_THP_DISABLE) unless the first line says
 * "thp"; CAP_IPC_LOCK is dropped so RLIMIT_MEMLOCK applies as to an ordinary user.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096UL
#define WINDOW ((char *)0x200000000000UL)
#define WINDOW_PAGES 1024

static char buf[1 << 20];
static char out[1 << 22];
static unsigned char vec[WINDOW_PAGES];

static long slurp(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  long n = 0;
  ssize_t k;
  while ((k = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += k;
  close(fd);
  buf[n] = 0;
  return n;
}

/* A field of /proc/self/status in kB. */
static long status_kb(const char *field) {
  if (slurp("/proc/self/status") < 0) return -1;
  char *p = strstr(buf, field);
  return p ? strtol(p + strlen(field) + 1, NULL, 10) : -1;
}

static long minflt(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}
static long majflt(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_majflt;
}

/* The window's VMAs from smaps: "start-end perms flags", offsets in pages, flags as VmFlags prints them. */
static void print_maps(void) {
  slurp("/proc/self/smaps");
  printf(",\"maps\":[");
  int first = 1;
  unsigned long s = 0, e = 0;
  char perms[8] = "";
  int in = 0;
  for (char *line = buf; *line; ) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    unsigned long a, b;
    char p[8];
    if (sscanf(line, "%lx-%lx %7s", &a, &b, p) == 3 && strchr(line, '-') < strchr(line, ' ')) {
      in = b > (unsigned long)WINDOW && a < (unsigned long)WINDOW + WINDOW_PAGES * PG;
      s = a, e = b;
      strcpy(perms, p);
    } else if (in && strncmp(line, "VmFlags:", 8) == 0) {
      long so = ((long)s - (long)WINDOW) / (long)PG, eo = ((long)e - (long)WINDOW) / (long)PG;
      printf("%s\"%ld-%ld %s%s\"", first ? "" : ",", so, eo, perms, line + 8);
      first = 0;
      in = 0;
    }
    if (!nl) break;
    line = nl + 1;
  }
  printf("]");
}

static int prot_of(long p) { return (p & 1 ? PROT_READ : 0) | (p & 2 ? PROT_WRITE : 0) | (p & 4 ? PROT_EXEC : 0); }
static char *at(long off) { return WINDOW + off * PG; }

static sigjmp_buf segv_jump;
static void on_segv(int sig) { siglongjmp(segv_jump, sig); }

/* Runs one step; returns its errno (0 on success) and writes its value, if any, to v. */
static int step(const char *name, long *a, char *v) {
  v[0] = 0;
  if (!strcmp(name, "mmap")) {
    int fl = MAP_PRIVATE | MAP_ANONYMOUS | ((a[3] & 32) ? MAP_FIXED_NOREPLACE : MAP_FIXED);
    if (a[3] & 1) fl = (fl & ~MAP_PRIVATE) | MAP_SHARED;
    if (a[3] & 2) fl |= MAP_POPULATE;
    if (a[3] & 4) fl |= MAP_LOCKED;
    if (a[3] & 8) fl |= MAP_GROWSDOWN;
    if (a[3] & 16) fl |= MAP_NORESERVE;
    return mmap(at(a[0]), a[1] * PG, prot_of(a[2]), fl, -1, 0) == MAP_FAILED ? errno : 0;
  }
  if (!strcmp(name, "munmap")) return munmap(at(a[0]), a[1] * PG) ? errno : 0;
  if (!strcmp(name, "mprotect")) return mprotect(at(a[0]), a[1] * PG, prot_of(a[2])) ? errno : 0;
  if (!strcmp(name, "mremap")) {
    int fl = (a[3] & 1 ? MREMAP_MAYMOVE : 0) | (a[3] & 2 ? MREMAP_FIXED : 0) | (a[3] & 4 ? MREMAP_DONTUNMAP : 0) | (a[3] & 8 ? 64 : 0);
    char *r = mremap(at(a[0]), a[1] * PG, a[2] * PG, fl, at(a[4]));
    if (r == MAP_FAILED) return errno;
    /* Where it went: a page offset in the window, or "out" (the kernel's own placement: the test unmaps it). */
    if (r >= WINDOW && r < WINDOW + WINDOW_PAGES * PG) sprintf(v, "%ld", (long)(r - WINDOW) / (long)PG);
    else {
      sprintf(v, "\"out\"");
      munmap(r, a[2] * PG);
    }
    return 0;
  }
  if (!strcmp(name, "mlock")) return mlock(at(a[0]) + a[2], a[1] * PG - a[2]) ? errno : 0;
  if (!strcmp(name, "munlock")) return munlock(at(a[0]), a[1] * PG) ? errno : 0;
  if (!strcmp(name, "mlock2")) return syscall(SYS_mlock2, at(a[0]), a[1] * PG, a[2]) ? errno : 0;
  if (!strcmp(name, "mlockall")) return mlockall(a[0]) ? errno : 0;
  if (!strcmp(name, "munlockall")) return munlockall() ? errno : 0;
  if (!strcmp(name, "madvise")) return madvise(at(a[0]), a[1] * PG, a[2]) ? errno : 0;
  if (!strcmp(name, "r") || !strcmp(name, "w")) {
    int sig = sigsetjmp(segv_jump, 1);
    if (sig) return sig == SIGBUS ? -2 : -3;
    if (name[0] == 'r') sprintf(v, "%d", *(volatile unsigned char *)at(a[0]));
    else *(volatile unsigned char *)at(a[0]) = (unsigned char)a[1];
    return 0;
  }
  if (!strcmp(name, "mincore")) {
    if (mincore(at(a[0]), a[1] * PG, vec)) return errno;
    char *o = v;
    *o++ = '"';
    for (long i = 0; i < a[1]; i++) *o++ = '0' + (vec[i] & 1);
    *o++ = '"';
    *o = 0;
    return 0;
  }
  if (!strcmp(name, "memlock")) {
    struct rlimit r = {a[0] == -1 ? RLIM_INFINITY : (rlim_t)a[0] * PG, RLIM_INFINITY};
    getrlimit(RLIMIT_MEMLOCK, &r);
    r.rlim_cur = a[0] == -1 ? RLIM_INFINITY : (rlim_t)a[0] * PG;
    return setrlimit(RLIMIT_MEMLOCK, &r) ? errno : 0;
  }
  return -1;
}

/* Faults in 256 KiB of stack below the caller: every later frame (steps, signal frames) lands on touched pages. */
static __attribute__((noinline)) void touch_stack(void) {
  volatile char big[256 << 10];
  for (size_t i = 0; i < sizeof big; i += PG) big[i] = 1;
}

/* The present bit (63) of the window's first `n` pages in /proc/self/pagemap, as a string of 0/1. */
static void pagemap(char *o, long n) {
  static uint64_t e[WINDOW_PAGES];
  int fd = open("/proc/self/pagemap", O_RDONLY);
  long k = fd < 0 ? 0 : pread(fd, e, n * 8, (off_t)((uintptr_t)WINDOW / PG) * 8) / 8;
  if (fd >= 0) close(fd);
  for (long i = 0; i < n; i++) o[i] = i < k && (e[i] >> 63) ? '1' : '0';
  o[n] = 0;
}

/*
 * Writes every page of the interpreter's own writable memory outside the window (its stack, its
 * data, the C library's): after a fork they are copy-on-write, and a step must not pay for them.
 * Each page gets back the byte it holds.
 */
static void touch_data(void) {
  static char maps[1 << 16];
  int fd = open("/proc/self/maps", O_RDONLY);
  long n = 0;
  ssize_t k;
  while (fd >= 0 && (k = read(fd, maps + n, sizeof maps - 1 - n)) > 0) n += k;
  if (fd >= 0) close(fd);
  maps[n] = 0;
  for (char *line = maps; *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    unsigned long a, b;
    char p[8];
    if (sscanf(line, "%lx-%lx %7s", &a, &b, p) == 3 && p[0] == 'r' && p[1] == 'w' && p[3] == 'p' && (b <= (unsigned long)WINDOW || a >= (unsigned long)WINDOW + (WINDOW_PAGES + 32) * PG) && !strstr(line, "[v"))
      for (unsigned long x = a; x < b; x += PG) *(volatile char *)x = *(volatile char *)x;
    if (!nl) break;
    line = nl + 1;
  }
}

/* Drops CAP_IPC_LOCK from the effective set (root may mlock past RLIMIT_MEMLOCK otherwise). */
static void drop_ipc_lock(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d)) return;
  d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
  syscall(SYS_capset, &h, d);
}

int main(int argc, char **argv) {
  (void)argc, (void)argv;
  setvbuf(stdout, out, _IOFBF, sizeof out);
  drop_ipc_lock();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_segv;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  struct rlimit memlock0;
  getrlimit(RLIMIT_MEMLOCK, &memlock0);
  /* Warm up: the stack, the buffers and every call on a scratch page, so no step pays for the interpreter. */
  touch_stack();
  memset(buf, 0, sizeof buf);
  memset(out, ' ', sizeof out);
  char *scratch = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  unsigned char vec[4];
  mincore(scratch, PG, vec);
  mlock(scratch, PG);
  munlock(scratch, PG);
  madvise(scratch, PG, MADV_NORMAL);
  mprotect(scratch, PG, PROT_READ);
  mremap(scratch, PG, PG, 0);
  status_kb("VmRSS:");
  print_maps();
  minflt();
  majflt();
  printf("\n");
  fflush(stdout);
  char line[256];
  int thp = 0;
  while (fgets(line, sizeof line, stdin)) {
    char name[32];
    long a[6] = {0};
    int n = sscanf(line, "%31s %ld %ld %ld %ld %ld %ld", name, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]);
    if (n < 1) continue;
    if (!strcmp(name, "thp")) {
      thp = 1;
      continue;
    }
    if (!strcmp(name, "end")) {
      munlockall();
      munmap(WINDOW, WINDOW_PAGES * PG);
      setrlimit(RLIMIT_MEMLOCK, &memlock0);
      printf("{\"end\":1}\n");
      fflush(stdout);
      thp = 0;
      continue;
    }
    prctl(PR_SET_THP_DISABLE, thp ? 0 : 1, 0, 0, 0);
    if (!strcmp(name, "fork")) {
      /* "fork off w val": the child reports what it maps of the window's first 32 pages after fork and after
         one access (a read, or with w a write of val), with the access's faults and VmRSS change; it then exits. */
      fflush(stdout);
      pid_t pid = fork();
      if (pid == 0) {
        touch_data(); /* the child's own copies of the interpreter's memory, before anything is measured */
        char pm0[40], pm1[40], v[16];
        /* The child faults in the code it runs (file pages are not copied by fork): run every path once outside the window. */
        mmap(at(WINDOW_PAGES + 8), PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        long w0[6] = {WINDOW_PAGES + 8, 1}, w1[6] = {WINDOW_PAGES + 16, 1};
        step("r", w0, v), step("w", w0, v), step("r", w1, v), step("w", w1, v);
        pagemap(pm0, 32), status_kb("VmRSS:"), minflt(), majflt();
        pagemap(pm0, 32);
        long r0 = status_kb("VmRSS:");
        long f0 = minflt(), m0 = majflt();
        long b[6] = {a[0], a[2]};
        int r = step(a[1] ? "w" : "r", b, v);
        long f1 = minflt(), m1 = majflt();
        long r1 = status_kb("VmRSS:");
        pagemap(pm1, 32);
        printf("{\"r\":\"%s\"%s%s,\"min\":%ld,\"maj\":%ld,\"rss\":%ld,\"pm0\":\"%s\",\"pm1\":\"%s\"}\n", r == 0 ? "0" : r == -2 ? "SIGBUS" : "SIGSEGV", v[0] ? ",\"v\":" : "", v, f1 - f0, m1 - m0, (r1 - r0) / 4, pm0, pm1);
        fflush(stdout);
        _exit(0);
      }
      waitpid(pid, NULL, 0);
      touch_data();
      continue;
    }
    long rss0 = status_kb("VmRSS:"), lck0 = status_kb("VmLck:");
    static char v[WINDOW_PAGES + 8];
    long f0 = minflt(), m0 = majflt();
    int r = step(name, a, v);
    long f1 = minflt(), m1 = majflt();
    long rss1 = status_kb("VmRSS:"), lck1 = status_kb("VmLck:");
    printf("{\"r\":\"%s\"%s%s,\"min\":%ld,\"maj\":%ld,\"rss\":%ld,\"lck\":%ld", r == 0 ? "0" : r == -2 ? "SIGBUS" : r == -3 ? "SIGSEGV" : r < 0 ? "?" : strerrorname_np(r), v[0] ? ",\"v\":" : "", v, f1 - f0, m1 - m0, (rss1 - rss0) / 4, (lck1 - lck0) / 4);
    print_maps();
    printf("}\n");
  }
  fflush(stdout);
  return 0;
}
