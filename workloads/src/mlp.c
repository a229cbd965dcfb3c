/* Training a small neural network (the whitepaper's example of useful work): a 2-16-1
 * multilayer perceptron with tanh hidden units learns y = sin(πx₀)·x₁ on 256 points by plain
 * SGD. Input: 4 bytes little-endian epochs (default 200), 4 bytes seed. The result is the
 * final mean squared error and every trained weight, as hex of their IEEE 754 bits. */
#include "work.h"

#define H 16
#define N 256

static double w1[H][2], b1[H], w2[H], b2;
static double xs[N][2], ys[N];

/* tanh from a rational approximation after range reduction: basic operations only. */
static double approx_exp(double x) {
  /* e^x = 2^k · e^r with |r| ≤ ln2/2; e^r by its Taylor series. */
  if (x > 700) x = 700;
  if (x < -700) x = -700;
  double kf = x * 1.4426950408889634;
  int k = (int)(kf + (kf >= 0 ? 0.5 : -0.5));
  double r = x - k * 0.6931471805599453;
  double term = 1, sum = 1;
  for (int i = 1; i < 14; i++) { term *= r / i; sum += term; }
  u64 bits = (u64)(k + 1023) << 52;
  double scale; memcpy(&scale, &bits, 8);
  return sum * scale;
}
static double tanh_(double x) { double e = approx_exp(2 * x); return (e - 1) / (e + 1); }
static double sin_pi(double x) { /* sin(πx) for x in [-1, 1], Taylor series */
  double t = 3.141592653589793 * x, term = t, sum = t;
  for (int i = 1; i < 12; i++) { term *= -t * t / ((2*i) * (2*i + 1)); sum += term; }
  return sum;
}
static double uniform(u64 *s) { return (double)(next_random(s) >> 11) / 9007199254740992.0; }

void _start(void) {
  u8 in[8] = {0};
  size_t got = read_input(in, 8);
  u32 epochs = got >= 4 ? le32(in) : 200;
  u64 state = got >= 8 ? le32(in + 4) : 7;
  if (state == 0) state = 7;
  for (int i = 0; i < N; i++) {
    xs[i][0] = uniform(&state) * 2 - 1;
    xs[i][1] = uniform(&state) * 2 - 1;
    ys[i] = sin_pi(xs[i][0]) * xs[i][1];
  }
  for (int j = 0; j < H; j++) {
    w1[j][0] = uniform(&state) - 0.5; w1[j][1] = uniform(&state) - 0.5;
    b1[j] = 0; w2[j] = uniform(&state) - 0.5;
  }
  b2 = 0;
  const double rate = 0.05;
  double mse = 0;
  for (u32 e = 0; e < epochs; e++) {
    mse = 0;
    for (int i = 0; i < N; i++) {
      double h[H], out = b2;
      for (int j = 0; j < H; j++) {
        h[j] = tanh_(w1[j][0] * xs[i][0] + w1[j][1] * xs[i][1] + b1[j]);
        out += w2[j] * h[j];
      }
      double err = out - ys[i];
      mse += err * err;
      for (int j = 0; j < H; j++) {
        double grad_h = err * w2[j] * (1 - h[j] * h[j]);
        w2[j] -= rate * err * h[j];
        w1[j][0] -= rate * grad_h * xs[i][0];
        w1[j][1] -= rate * grad_h * xs[i][1];
        b1[j] -= rate * grad_h;
      }
      b2 -= rate * err;
    }
    mse /= N;
  }
  write_hex_line((const u8 *)&mse, 8);
  for (int j = 0; j < H; j++) write_hex_line((const u8 *)w1[j], 16);
  write_hex_line((const u8 *)b1, 8 * H);
  write_hex_line((const u8 *)w2, 8 * H);
}
