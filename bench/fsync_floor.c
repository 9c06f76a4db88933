/* The floor for a durable local state write: the minimal crash-safe replace, in a loop.
 *   write(tmp) + fsync(tmp) + close + rename(tmp, target) + fsync(dir)
 * No locking, no reading, no JSON: whatever NIC's local backend cycle (lock, read, write,
 * unlock) costs above this is NIC's own overhead.
 *   cc -O2 bench/fsync_floor.c -o fsync_floor
 *   fsync_floor DIR BYTES ITERATIONS   -> {"bytes":B,"iterations":N,"seconds":S,"cycles_per_second":R}
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: fsync_floor DIR BYTES ITERATIONS\n");
    return 2;
  }
  const char* dir = argv[1];
  size_t bytes = strtoull(argv[2], NULL, 10);
  long iterations = strtol(argv[3], NULL, 10);
  char* buf = malloc(bytes ? bytes : 1);
  memset(buf, '{', bytes);
  char tmp[4096], target[4096];
  snprintf(tmp, sizeof tmp, "%s/floor.json.tmp", dir);
  snprintf(target, sizeof target, "%s/floor.json", dir);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd < 0) { perror(dir); return 1; }
  double t0 = now();
  for (long i = 0; i < iterations; ++i) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror(tmp); return 1; }
    size_t off = 0;
    while (off < bytes) {
      ssize_t n = write(fd, buf + off, bytes - off);
      if (n <= 0) { perror("write"); return 1; }
      off += (size_t)n;
    }
    if (fsync(fd) != 0) { perror("fsync"); return 1; }
    close(fd);
    if (rename(tmp, target) != 0) { perror("rename"); return 1; }
    if (fsync(dfd) != 0) { perror("fsync dir"); return 1; }
  }
  double s = now() - t0;
  printf("{\"bytes\":%zu,\"iterations\":%ld,\"seconds\":%.6f,\"cycles_per_second\":%.2f}\n", bytes, iterations, s,
         iterations / s);
  unlink(target);
  close(dfd);
  free(buf);
  return 0;
}
