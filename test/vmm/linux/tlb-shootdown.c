/*
 * TLB shootdowns on this machine's kernel: a peer thread of this process pinned to CPU 1,
 * the calls made on CPU 0, and CPU 1's line of /proc/interrupts ("TLB: ... TLB shootdowns")
 * read around each call. Built and run at test time by test/machine/shootdown-linux.test.ts,
 * which makes the same calls on a vmsim machine of two CPUs and compares.
 *
 * The machine is shared (other processes run on CPU 1 too, and their shootdowns count on the
 * same line), so each call is judged on its own: the peer spinning in user space bumps a
 * heartbeat, and a call counts as "peer running" when the heartbeat moved during it; the answer
 * is the fraction of such calls during which CPU 1 received at least one TLB IPI. A sleeping
 * peer is woken before each call and blocks again (so CPU 1 has this mm loaded, lazily, idle).
 * Also reported: whether the kernel runs KVM's paravirtual TLB flush (CPUID 0x40000001 EAX
 * bit 9, KVM_FEATURE_PV_TLB_FLUSH), and the median time of a call with and without the IPI.
 *
 * Output: one JSON object; {"error": "..."} when it cannot measure (one CPU, no TLB line).
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL
#define REPS 600

static volatile uint64_t heartbeat;
static volatile int mode; /* 0 spin, 1 sleep on the pipe, 2 exit */
static int wake[2], woke[2];

/* CPU 1's count on the "TLB:" line of /proc/interrupts, or -1. */
static long tlb_count(void) {
  static char buf[1 << 16];
  FILE *f = fopen("/proc/interrupts", "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *line = strstr(buf, "\n TLB:");
  if (!line) line = strstr(buf, "\nTLB:");
  if (!line) return -1;
  char *p = strchr(line, ':') + 1;
  strtol(p, &p, 10);           /* CPU 0 */
  return strtol(p, NULL, 10);  /* CPU 1 */
}

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *peer(void *arg) {
  (void)arg;
  pin(1);
  char c;
  for (;;) {
    if (mode == 2) return NULL;
    if (mode == 0) {
      heartbeat++;
      continue;
    }
    /* Sleeping: block until woken, say so, block again. */
    if (read(wake[0], &c, 1) != 1) return NULL;
    if (mode == 2) return NULL;
    if (write(woke[1], &c, 1) != 1) return NULL;
  }
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* The calls, each on a fresh mapping prepared outside the measured window. */
enum { MUNMAP1, MUNMAP40, MPROTECT, DONTNEED, MUNMAP_FREED, NOPS };
static const char *names[NOPS] = {"munmap1", "munmap40", "mprotect", "dontneed", "munmapFreedTables"};

static uint8_t *region;

/* Sets up for op (writes the pages, so they are mapped and in this CPU's TLB). */
static uint8_t *prepare(int op) {
  if (op == MUNMAP_FREED) {
    /* Two pages alone in their own 2 MiB (their page table is freed by the munmap). */
    uint8_t *p = mmap((void *)0x7e0000000000UL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    p[0] = 1;
    return p;
  }
  /* 64 pages; the op touches some in the middle (the page table stays). */
  uint8_t *p = region;
  mprotect(p, 64 * PG, PROT_READ | PROT_WRITE);
  for (int k = 0; k < 64; k++) p[k * PG] = 1;
  return p;
}

static void run(int op, uint8_t *p) {
  switch (op) {
    case MUNMAP1: munmap(p + 8 * PG, PG); break;
    case MUNMAP40: munmap(p + 8 * PG, 40 * PG); break;
    case MPROTECT: mprotect(p + 8 * PG, PG, PROT_READ); break;
    case DONTNEED: madvise(p + 8 * PG, PG, MADV_DONTNEED); break;
    case MUNMAP_FREED: munmap(p, 2 * PG); break;
  }
}

static void restore(int op) {
  if (op == MUNMAP1 || op == MUNMAP40) {
    /* Map the hole again (the region must stay one table's worth). */
    mmap(region + 8 * PG, 40 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  }
}

/* Fraction of calls that CPU 1 received a TLB IPI during (of those where the peer was running, when spinning), and mean ns per call. */
static int cmp(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static void measure(int op, int sleeping, double *frac, double *ns, int *counted) {
  int calls = 0, hit = 0;
  static double t[REPS];
  for (int i = 0; i < REPS; i++) {
    uint8_t *p = prepare(op);
    if (!p) continue;
    char c = 'x';
    if (sleeping) {
      /* Wake the peer (it loads this mm on CPU 1), wait until it says so, and let it block again. */
      if (write(wake[1], &c, 1) != 1 || read(woke[0], &c, 1) != 1) break;
      usleep(200);
    }
    long before = tlb_count();
    uint64_t h0 = heartbeat;
    double t0 = now_ns();
    run(op, p);
    double t1 = now_ns();
    uint64_t h1 = heartbeat;
    long after = tlb_count();
    restore(op);
    if (!sleeping && h1 == h0) continue; /* the peer was not running: nothing to compare */
    t[calls++] = t1 - t0;
    if (after > before) hit++;
  }
  qsort(t, calls, sizeof t[0], cmp);
  *frac = calls ? (double)hit / calls : -1;
  *ns = calls ? t[calls / 2] : -1; /* the median: the machine is noisy */
  *counted = calls;
}

int main(void) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
    printf("{\"error\":\"one CPU\"}\n");
    return 0;
  }
  if (tlb_count() < 0) {
    printf("{\"error\":\"no TLB line in /proc/interrupts\"}\n");
    return 0;
  }
  unsigned a = 0, b = 0, c = 0, d = 0;
  int kvm = 0, pv = 0;
  if (__get_cpuid(0x40000000, &a, &b, &c, &d) || 1) {
    __cpuid(0x40000000, a, b, c, d);
    char sig[13];
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    sig[12] = 0;
    kvm = strcmp(sig, "KVMKVMKVM") == 0;
    if (kvm) {
      __cpuid(0x40000001, a, b, c, d);
      pv = (a >> 9) & 1;
    }
  }
  if (pipe(wake) || pipe(woke)) return 1;
  pin(0);
  region = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  pthread_t th;
  mode = 0;
  pthread_create(&th, NULL, peer, NULL);
  usleep(20000);
  printf("{\"kvm\":%s,\"pvTlbFlush\":%s,\"reps\":%d,\"spinning\":{", kvm ? "true" : "false", pv ? "true" : "false", REPS);
  for (int op = 0; op < NOPS; op++) {
    double f, ns;
    int n;
    measure(op, 0, &f, &ns, &n);
    printf("%s\"%s\":{\"ipiFraction\":%.4f,\"ns\":%.0f,\"calls\":%d}", op ? "," : "", names[op], f, ns, n);
  }
  mode = 1;
  usleep(20000);
  printf("},\"sleeping\":{");
  for (int op = 0; op < NOPS; op++) {
    double f, ns;
    int n;
    measure(op, 1, &f, &ns, &n);
    printf("%s\"%s\":{\"ipiFraction\":%.4f,\"ns\":%.0f,\"calls\":%d}", op ? "," : "", names[op], f, ns, n);
  }
  printf("}}\n");
  mode = 2;
  char x = 'q';
  if (write(wake[1], &x, 1) != 1) return 1;
  pthread_join(th, NULL);
  return 0;
}
