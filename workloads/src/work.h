/* The few things a useful-work program needs without a libc: read the task input from stdin,
 * write the result to stdout, exit. These are the WASI calls the ankr runtime virtualises;
 * nothing else (clock, randomness, files) exists for useful work. */
#ifndef ANKR_WORK_H
#define ANKR_WORK_H

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long size_t;

struct iovec { const void *buf; size_t len; };

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_read")))
int wasi_fd_read(int fd, struct iovec *iovs, size_t count, size_t *read);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int wasi_fd_write(int fd, const struct iovec *iovs, size_t count, size_t *written);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_exit"), noreturn))
void wasi_proc_exit(int code);

/* Compilers emit calls to these for struct copies and zeroing. */
void *memset(void *dst, int c, size_t n) { u8 *d = dst; while (n--) *d++ = (u8)c; return dst; }
void *memcpy(void *dst, const void *src, size_t n) {
  u8 *d = dst; const u8 *s = src; while (n--) *d++ = *s++; return dst;
}

/* Reads up to `max` bytes of input; returns how many. */
static size_t read_input(void *buf, size_t max) {
  size_t total = 0;
  while (total < max) {
    struct iovec v = { (u8 *)buf + total, max - total };
    size_t n = 0;
    if (wasi_fd_read(0, &v, 1, &n) != 0 || n == 0) break;
    total += n;
  }
  return total;
}

static void write_output(const void *buf, size_t len) {
  struct iovec v = { buf, len };
  size_t n;
  wasi_fd_write(1, &v, 1, &n);
}

static u32 le32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }

/* Writes `len` bytes as lowercase hex followed by a newline. */
static void write_hex_line(const u8 *bytes, size_t len) {
  static const char digits[] = "0123456789abcdef";
  char out[2 * 64 + 1];
  size_t n = 0;
  for (size_t i = 0; i < len && i < 64; i++) {
    out[n++] = digits[bytes[i] >> 4];
    out[n++] = digits[bytes[i] & 15];
  }
  out[n++] = '\n';
  write_output(out, n);
}

/* xorshift64*: the deterministic generator every workload derives its data from. */
static u64 next_random(u64 *state) {
  u64 x = *state;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

#endif
