/*
 * A multi-threaded program for the bench's recorded-program rows (bench/programs.ts): 4
 * threads each sweep a buffer of their own and map, touch and unmap scratch memory now and
 * then, so the trace holds many accesses and some memory calls (mmap, munmap, mprotect).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#define THREADS 4
#define ROUNDS 30

static void *work(void *arg) {
  long id = (long)arg;
  size_t n = 256 * 1024;
  char *buf = malloc(n);
  unsigned long sum = 0;
  for (int r = 0; r < ROUNDS; r++) {
    for (size_t i = 0; i < n; i += 64) buf[i] = (char)(i + r + id);
    for (size_t i = 0; i < n; i += 128) sum += (unsigned char)buf[i];
    char *s = mmap(0, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int k = 0; k < 16; k++) s[k * 4096] = (char)k;
    mprotect(s, 4096, PROT_READ);
    munmap(s, 64 * 1024);
  }
  free(buf);
  return (void *)sum;
}

int main(void) {
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], 0, work, (void *)i);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], 0);
  return 0;
}
