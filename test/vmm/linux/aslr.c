/* ASLR on this machine's kernel: runs itself N times (each exec gets a new layout) and prints,
 * for each run, the end of [stack], the end of the highest mapping below it (the libraries
 * ld.so mapped just under mmap_base), the start of the program's image and of [heap], as JSON
 * with randomize_va_space. Compiled as a PIE (the default of this machine's cc). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { RUNS = 64 };

static int one(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return 1;
  char line[512], self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = 0;
  unsigned long stack = 0, lib = 0, exe = 0, heap = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx", &s, &e) != 2) continue;
    if (strstr(line, "[stack]")) stack = e;
    else if (strstr(line, "[heap]")) heap = s;
    else if (!exe && strstr(line, self)) exe = s;
    else if (!strstr(line, "[v") && s >= 0x700000000000ul && e > lib) lib = e;
  }
  fclose(f);
  printf("[%lu, %lu, %lu, %lu]", stack, lib, exe, heap);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--one") == 0) return one();
  int va = -1;
  FILE *r = fopen("/proc/sys/kernel/randomize_va_space", "r");
  if (r) {
    if (fscanf(r, "%d", &va) != 1) va = -1;
    fclose(r);
  }
  printf("{\"randomize_va_space\": %d, \"runs\": [", va);
  fflush(stdout);
  for (int i = 0; i < RUNS; i++) {
    if (i) printf(", ");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      char *args[] = {argv[0], "--one", NULL};
      execv("/proc/self/exe", args);
      _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      printf("]}\n{\"error\": \"run %d failed\"}\n", i);
      return 1;
    }
  }
  printf("]}\n");
  return 0;
}
