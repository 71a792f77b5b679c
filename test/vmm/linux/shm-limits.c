/*
 * What this machine's kernel does at the limits of shared and accounted memory: ftruncate of a
 * huge POSIX shm object, mappings larger than RAM (the overcommit heuristic, at its exact
 * boundary), MAP_POPULATE that cannot populate (a mapping past the end of its object), and an
 * access past the end. Prints JSON; the test runs the same calls on vmsim.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define PG 4096L

static int m(size_t len, int prot, int flags) {
  void *p = mmap(NULL, len, prot, flags, -1, 0);
  if (p == MAP_FAILED) return errno;
  munmap(p, len);
  return 0;
}

static sigjmp_buf jb;
static void onbus(int sig) { (void)sig; siglongjmp(jb, 1); }

int main(void) {
  struct sysinfo si;
  sysinfo(&si);
  long ram = (long)(si.totalram * si.mem_unit / PG) + (long)(si.totalswap * si.mem_unit / PG); /* totalram_pages + swap */
  char name[64];
  snprintf(name, sizeof name, "/vmsim-shm-probe-%d", (int)getpid());
  int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
  if (fd < 0) { printf("{\"error\":\"shm_open failed\"}\n"); return 0; }
  shm_unlink(name);
  int trunc = ftruncate(fd, 1L << 42) ? errno : 0;
  struct stat st;
  fstat(fd, &st);
  long blocks = (long)st.st_blocks;
  /* One page of object, four pages of mapping, populated: the pages past the end cannot be. */
  ftruncate(fd, PG);
  char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int popErr = p == MAP_FAILED ? errno : 0;
  unsigned char vec[4] = {9, 9, 9, 9};
  if (p != MAP_FAILED) mincore(p, 4 * PG, vec);
  int bus = 0;
  signal(SIGBUS, onbus);
  if (p != MAP_FAILED) {
    if (sigsetjmp(jb, 1) == 0) p[2 * PG] = 1;
    else bus = 1;
  }
  /* mprotect making a private read-only mapping larger than RAM writable is charged. */
  char *ro = mmap(NULL, (ram + 1) * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int protErr = ro == MAP_FAILED ? -1 : (mprotect(ro, (ram + 1) * PG, PROT_READ | PROT_WRITE) ? errno : 0);
  /* MAP_NORESERVE: not charged, at mmap nor when mprotect makes it writable. */
  int nrMap = m(1L << 44, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
  char *nr = mmap(NULL, 1L << 44, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  int nrProt = nr == MAP_FAILED ? -1 : (mprotect(nr, 1L << 44, PROT_READ | PROT_WRITE) ? errno : 0);
  printf("{\"noReserve2e44\":%d,\"noReserveMprotect2e44\":%d,", nrMap, nrProt);
  printf("\"ftruncate2e42\":%d,\"blocksAfter\":%ld,"
         "\"sharedAnonRam\":%d,\"sharedAnonRamPlus1\":%d,\"sharedAnonReadOnlyRamPlus1\":%d,"
         "\"privateRwRam\":%d,\"privateRwRamPlus1\":%d,\"privateRoRamPlus1\":%d,\"mprotectRwRamPlus1\":%d,"
         "\"populatePastEnd\":%d,\"resident\":[%d,%d,%d,%d],\"sigbusPastEnd\":%d}\n",
         trunc, blocks,
         m(ram * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS), m((ram + 1) * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS),
         m((ram + 1) * PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS),
         m(ram * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS), m((ram + 1) * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS),
         m((ram + 1) * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS), protErr,
         popErr, vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1, bus);
  return 0;
}
