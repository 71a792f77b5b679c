/*
 * Threads that touch one mapping, which the main thread then unmaps while they are still
 * alive, for test/record: prints its calls' results ("CALL name value") and, at its end, its
 * own /proc/self/maps.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define THREADS 3
static char *shared;
static long page;
static pthread_barrier_t touched, unmapped;

static void *work(void *arg) {
  long i = (long)arg;
  for (int k = 0; k < 4; k++) shared[(i * 4 + k) * page] = (char)i;
  pthread_barrier_wait(&touched);
  pthread_barrier_wait(&unmapped); /* alive while main unmaps */
  return 0;
}

int main(void) {
  page = sysconf(_SC_PAGESIZE);
  shared = mmap(0, 16 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("CALL mmap %p\n", (void *)shared);
  pthread_barrier_init(&touched, 0, THREADS + 1);
  pthread_barrier_init(&unmapped, 0, THREADS + 1);
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], 0, work, (void *)i);
  pthread_barrier_wait(&touched);
  printf("CALL munmap %d\n", munmap(shared, 16 * page));
  pthread_barrier_wait(&unmapped);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], 0);
  char line[4096];
  FILE *f = fopen("/proc/self/maps", "r");
  while (f && fgets(line, sizeof line, f)) printf("MAPS %s", line);
  return 0;
}
