/*
 * A process's memory calls, a shared file mapping and a child that forks and execs, for
 * test/record: prints each call's result ("CALL name value") and, at its end, its own
 * /proc/self/maps, which replay must reproduce. argv[1]: a file to map shared; argv[2]: the
 * program the child execs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void print_maps(void) {
  char line[4096];
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return;
  while (fgets(line, sizeof line, f)) printf("MAPS %s", line);
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  long page = sysconf(_SC_PAGESIZE);
  char *a = mmap(0, 16 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("CALL mmap %p\n", (void *)a);
  for (int i = 0; i < 16; i += 2) a[i * page] = 1;
  char *b = mremap(a, 16 * page, 32 * page, MREMAP_MAYMOVE);
  printf("CALL mremap %p\n", (void *)b);
  printf("CALL mprotect %d\n", mprotect(b + 4 * page, 2 * page, PROT_READ));
  printf("CALL madvise %d\n", madvise(b + 8 * page, 4 * page, MADV_DONTNEED));
  printf("CALL munmap %d\n", munmap(b + 28 * page, 4 * page));
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4 * page) != 0) return 3;
  char *s = mmap(0, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("CALL mmap-shared %p\n", (void *)s);
  s[0] = 'p';
  int fd2 = dup(fd);
  close(fd);
  char *big = malloc(300000); /* past the mmap threshold: glibc maps it */
  printf("CALL malloc-big %p\n", (void *)big);
  big[0] = 1;
  char *small = malloc(100); /* the heap: brk */
  small[0] = 1;
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    s[page] = 'c';
    b[0] = 2; /* copy-on-write in the child */
    execl(argv[2], argv[2], (char *)0);
    _exit(127);
  }
  printf("CALL fork %d\n", (int)p);
  int status = 0;
  waitpid(p, &status, 0);
  printf("CALL child-status %d\n", status);
  printf("CALL msync %d\n", msync(s, 4 * page, MS_SYNC));
  free(big);
  close(fd2);
  print_maps();
  return 0;
}
