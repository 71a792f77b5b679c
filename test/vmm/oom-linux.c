/*
 * What this machine's kernel reports as /proc/self/oom_score for several oom_score_adj values,
 * next to the inputs of oom_badness: VmRSS, VmSwap, VmPTE (pages) and RAM + swap (pages).
 * One line per value: "adj rss swap pte total score" (a value the kernel refuses is skipped:
 * lowering oom_score_adj needs CAP_SYS_RESOURCE).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[65536];

static long slurp(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  long n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return n;
}

/* The number after "key" in buf (kB in /proc files), or -1. */
static long field(const char *key) {
  char *p = strstr(buf, key);
  return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static int set_adj(int adj) {
  char s[16];
  int fd = open("/proc/self/oom_score_adj", O_WRONLY);
  if (fd < 0) return -1;
  int len = snprintf(s, sizeof s, "%d", adj);
  int ok = write(fd, s, len) == len;
  close(fd);
  return ok ? 0 : -1;
}

int main(void) {
  static const int adjs[] = {-1000, -999, -500, -1, 0, 1, 2, 333, 500, 999, 1000};
  static char out[4096];
  int used = 0;
  if (slurp("/proc/meminfo") < 0) return 1;
  long total = (field("MemTotal:") + field("SwapTotal:")) / 4;
  for (unsigned i = 0; i < sizeof adjs / sizeof adjs[0]; i++) {
    if (set_adj(adjs[i]) != 0) continue;
    /* status before and after the score: the inputs must not have moved in between. */
    for (int tries = 0; tries < 10; tries++) {
      if (slurp("/proc/self/status") < 0) return 1;
      long rss = field("VmRSS:"), swap = field("VmSwap:"), pte = field("VmPTE:");
      if (slurp("/proc/self/oom_score") < 0) return 1;
      long score = strtol(buf, NULL, 10);
      if (slurp("/proc/self/status") < 0) return 1;
      if (field("VmRSS:") != rss || field("VmSwap:") != swap || field("VmPTE:") != pte) continue;
      used += snprintf(out + used, sizeof out - used, "%d %ld %ld %ld %ld %ld\n", adjs[i], rss / 4, swap / 4, pte / 4, total, score);
      break;
    }
  }
  fputs(out, stdout);
  return 0;
}
