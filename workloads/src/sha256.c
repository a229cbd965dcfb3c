/* SHA-256 over a large buffer. Input: 4 bytes little-endian buffer size in KiB (default 1024),
 * then any seed bytes. The buffer is generated from the seed with xorshift64* and hashed in
 * one pass; the result is the hex digest. */
#include "work.h"

static const u32 K[64] = {
  0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
  0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
  0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
  0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
  0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
  0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
  0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
  0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(u32 h[8], const u8 block[64]) {
  u32 w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (u32)block[4*i] << 24 | (u32)block[4*i+1] << 16 | (u32)block[4*i+2] << 8 | block[4*i+3];
  for (int i = 16; i < 64; i++) {
    u32 s0 = ROTR(w[i-15], 7) ^ ROTR(w[i-15], 18) ^ (w[i-15] >> 3);
    u32 s1 = ROTR(w[i-2], 17) ^ ROTR(w[i-2], 19) ^ (w[i-2] >> 10);
    w[i] = w[i-16] + s0 + w[i-7] + s1;
  }
  u32 a=h[0],b=h[1],c=h[2],d=h[3],e=h[4],f=h[5],g=h[6],k=h[7];
  for (int i = 0; i < 64; i++) {
    u32 t1 = k + (ROTR(e,6) ^ ROTR(e,11) ^ ROTR(e,25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    u32 t2 = (ROTR(a,2) ^ ROTR(a,13) ^ ROTR(a,22)) + ((a & b) ^ (a & c) ^ (b & c));
    k=g; g=f; f=e; e=d+t1; d=c; c=b; b=a; a=t1+t2;
  }
  h[0]+=a; h[1]+=b; h[2]+=c; h[3]+=d; h[4]+=e; h[5]+=f; h[6]+=g; h[7]+=k;
}

static u8 input[4096];

void _start(void) {
  size_t n = read_input(input, sizeof input);
  u64 kib = n >= 4 ? le32(input) : 1024;
  u64 state = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 4; i < n; i++) state = (state ^ input[i]) * 0x100000001B3ULL;
  if (state == 0) state = 1;
  u32 h[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};
  u8 block[64];
  u64 blocks = kib * 16;
  for (u64 b = 0; b < blocks; b++) {
    for (int i = 0; i < 8; i++) {
      u64 r = next_random(&state);
      for (int j = 0; j < 8; j++) block[8*i+j] = (u8)(r >> (8*j));
    }
    compress(h, block);
  }
  /* Padding: the message is blocks*64 bytes. */
  memset(block, 0, 64);
  block[0] = 0x80;
  u64 bits = blocks * 512;
  for (int j = 0; j < 8; j++) block[63 - j] = (u8)(bits >> (8*j));
  compress(h, block);
  u8 digest[32];
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) digest[4*i+j] = (u8)(h[i] >> (24 - 8*j));
  write_hex_line(digest, 32);
}
