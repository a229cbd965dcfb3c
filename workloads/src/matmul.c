/* Dense matrix multiply in double precision. Input: 4 bytes little-endian n (default 128,
 * at most 512), 4 bytes seed. A and B are filled from the seed; the result is the hex of
 * C's checksum (sum of C[i][j]·(i+j+1)) as IEEE 754 bits, and a hash of all of C. */
#include "work.h"

#define MAX 512
static double A[MAX * MAX], B[MAX * MAX], C[MAX * MAX];

void _start(void) {
  u8 in[8] = {0};
  size_t got = read_input(in, 8);
  u32 n = got >= 4 ? le32(in) : 128;
  if (n == 0 || n > MAX) wasi_proc_exit(2);
  u64 state = got >= 8 ? le32(in + 4) : 1;
  if (state == 0) state = 1;
  for (u32 i = 0; i < n * n; i++) {
    A[i] = (double)(next_random(&state) >> 11) / 9007199254740992.0 - 0.5;
    B[i] = (double)(next_random(&state) >> 11) / 9007199254740992.0 - 0.5;
  }
  for (u32 i = 0; i < n; i++) {
    for (u32 j = 0; j < n; j++) C[i * n + j] = 0;
    for (u32 k = 0; k < n; k++) {
      double a = A[i * n + k];
      for (u32 j = 0; j < n; j++) C[i * n + j] += a * B[k * n + j];
    }
  }
  double checksum = 0;
  u64 hash = 0xcbf29ce484222325ULL;
  for (u32 i = 0; i < n; i++)
    for (u32 j = 0; j < n; j++) {
      double c = C[i * n + j];
      checksum += c * (double)(i + j + 1);
      u64 bits; memcpy(&bits, &c, 8);
      hash = (hash ^ bits) * 0x100000001B3ULL;
    }
  u8 out[16];
  memcpy(out, &checksum, 8);
  memcpy(out + 8, &hash, 8);
  write_hex_line(out, 16);
}
