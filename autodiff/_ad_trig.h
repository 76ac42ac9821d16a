/*
 * Vectorisable float64 sin and cos for autodiff._kernels (see _kernels.pyx), and
 * two VJPs as one pass each: tanh's g (1 - y^2) (AD_TANH_BWD) and relu's
 * x <= 0 ? 0 : g (AD_RELU_BWD).
 *
 * Method, for |x| <= AD_TRIG_MAX:
 *   j = nearest integer to x * 2/pi, computed by adding and subtracting
 *       1.5 * 2^52 (the low bits of the sum's mantissa are j mod 4: the quadrant);
 *   r = x - j * pi/2, with pi/2 split into four parts P1..P4. P1..P3 have at
 *       most 36 significant bits, so for |j| < 2^17 the products j*P1..j*P3 are
 *       exact; x - j*P1 is exact (Sterbenz); the next two subtractions are done
 *       with TwoSum, so r is carried as r + y (head + tail) with an error of
 *       about 2^-100 |r| (Cody-Waite reduction; the fourth part and the
 *       TwoSums are there because the closest doubles to multiples of pi/2 below
 *       AD_TRIG_MAX leave |r| as small as ~1e-17, where a rounded three-part
 *       reduction would lose most of r's bits);
 *   sin(r + y), cos(r + y) on |r| <= pi/4 by the classical minimax polynomials
 *       (degree 13 for sin, 14 for cos; fdlibm's published coefficients), both
 *       evaluated, the quadrant choosing one and its sign with bit masks.
 * The loop body has no branches and no calls, so the compiler vectorises it.
 *
 * Elements outside [-AD_TRIG_MAX, AD_TRIG_MAX] (and nan/inf) are recomputed with
 * libm in a fix-up pass over each block, while it is still in cache. AD_TRIG_MAX
 * = 2^17 keeps |j| <= 83445 < 2^17, the bound for the exact products above.
 * Tiny |x| (< 2^-27, where sin x rounds to x and cos x to 1) take sin x = x,
 * cos x = 1 exactly, which also keeps the sign of -0.0.
 *
 * Floating-point contraction is off for this module (setup.py passes
 * -ffp-contract=off): the scalar remainder loop, the SSE2, AVX2 and AVX-512
 * versions then compute bit-identical results, so the output does not depend on
 * the CPU, on alignment or on how the array is split among threads.
 */
#ifndef AD_TRIG_H
#define AD_TRIG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(_MSC_VER)
#define AD_INLINE static __forceinline
#define AD_RESTRICT __restrict
#else
#define AD_INLINE static inline __attribute__((always_inline))
#define AD_RESTRICT __restrict__
#endif

/* Function multiversioning: one copy per instruction set, chosen at load time
 * through an ifunc. Only on x86-64 with GCC/Clang and glibc (ifuncs need an ELF
 * loader that has them: not macOS, Windows or musl); elsewhere the plain
 * (baseline) build, which the compiler still vectorises for SSE2/NEON. */
#if !defined(AD_CLONES) && defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) \
    && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define AD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define AD_CLONES_NAME "avx512f,avx2,default"
#endif
#endif
#ifndef AD_CLONES
#define AD_CLONES
#define AD_CLONES_NAME "default"
#endif

#define AD_TRIG_MAX 131072.0               /* 2^17 */
#define AD_TRIG_TINY 7.450580596923828125e-09   /* 2^-27 */
#define AD_TRIG_BLOCK 1024                 /* fix-up granularity (8 KB of input) */
#define AD_PAR_MIN 65536                   /* fewer elements: one thread */
#define AD_PAR_BLOCK 8192                  /* unit of work shared among threads */

enum { AD_SIN = 0, AD_COS = 1, AD_SIN_BWD = 2, AD_COS_BWD = 3, AD_TANH_BWD = 4,
       AD_RELU_BWD = 5 };

/* 2/pi and pi/2 = P1 + P2 + P3 + P4 (P1..P3: 36 significant bits each). */
static const double ad_2_pi = 0.6366197723675814;
static const double ad_p1 = 1.5707963267923333;     /* 0x1.921fb5444p+0 */
static const double ad_p2 = 2.5633441515839558e-12;  /* 0x1.68c234c4cp-39 */
static const double ad_p3 = 1.0562999066944068e-23;  /* 0x1.98a2e037p-77 */
static const double ad_p4 = 4.3359050650618903e-35;  /* 0x1.cd129024e088ap-115 */
static const double ad_shifter = 6755399441055744.0; /* 1.5 * 2^52 */

/* minimax sin(r) = r + r^3 (S1 + r^2 S2 + ... + r^10 S6), |r| <= pi/4 */
static const double ad_s1 = -1.66666666666666324348e-01;
static const double ad_s2 = 8.33333333332248946124e-03;
static const double ad_s3 = -1.98412698298579493134e-04;
static const double ad_s4 = 2.75573137070700676789e-06;
static const double ad_s5 = -2.50507602534068634195e-08;
static const double ad_s6 = 1.58969099521155010221e-10;
/* minimax cos(r) = 1 - r^2/2 + r^4 (C1 + r^2 C2 + ... + r^10 C6), |r| <= pi/4 */
static const double ad_c1 = 4.16666666666666019037e-02;
static const double ad_c2 = -1.38888888888741095749e-03;
static const double ad_c3 = 2.48015872894767294178e-05;
static const double ad_c4 = -2.75573143513906633035e-07;
static const double ad_c5 = 2.08757232129817482790e-09;
static const double ad_c6 = -1.13596475577881948265e-11;

AD_INLINE uint64_t ad_bits(double v) { uint64_t u; memcpy(&u, &v, sizeof u); return u; }
AD_INLINE double ad_double(uint64_t u) { double v; memcpy(&v, &u, sizeof v); return v; }

/* sin(x) (shift 0) or cos(x) = sin(x + pi/2) (shift 1) for |x| <= AD_TRIG_MAX. */
AD_INLINE double ad_sin_shift(double x, uint64_t shift)
{
    double t = x * ad_2_pi + ad_shifter;
    double j = t - ad_shifter;
    uint64_t q = ad_bits(t) + shift;       /* quadrant in the two low bits */

    /* r = x - j pi/2, as head r + tail y */
    double a = x - j * ad_p1;              /* exact */
    double w2 = j * ad_p2, w3 = j * ad_p3, w4 = j * ad_p4;
    double s1 = a - w2, b1 = s1 - a;
    double e1 = (a - (s1 - b1)) - (w2 + b1);   /* TwoSum: a - w2 = s1 + e1 exactly */
    double s2 = s1 - w3, b2 = s2 - s1;
    double e2 = (s1 - (s2 - b2)) - (w3 + b2);  /* s1 - w3 = s2 + e2 exactly */
    double lo = (e1 + e2) - w4;
    double r = s2 + lo;
    double y = lo - (r - s2);

    double z = r * r, v = z * r, zz = z * z;
    double ps = ad_s2 + z * (ad_s3 + z * (ad_s4 + z * (ad_s5 + z * ad_s6)));
    double sn = r - ((z * (0.5 * y - v * ps) - y) - v * ad_s1);
    double pc = z * (ad_c1 + z * (ad_c2 + z * ad_c3)) + zz * zz * (ad_c4 + z * (ad_c5 + z * ad_c6));
    double hz = 0.5 * z, w = 1.0 - hz;
    double cs = w + (((1.0 - w) - hz) + (z * pc - r * y));

    /* quadrant: odd -> cos(r), even -> sin(r); 2 and 3 negate */
    uint64_t odd = (uint64_t)0 - (q & 1);
    uint64_t res = (ad_bits(cs) & odd) | (ad_bits(sn) & ~odd);
    return ad_double(res ^ ((q & 2) << 62));
}

/* all ones where |x| < AD_TRIG_TINY, else 0 (integer ops only: no branch to convert) */
AD_INLINE uint64_t ad_tiny_mask(double x)
{
    uint64_t ax = ad_bits(x) & 0x7fffffffffffffffULL;
    return (uint64_t)0 - ((ax - ad_bits(AD_TRIG_TINY)) >> 63);
}

AD_INLINE double ad_sin1(double x)
{
    uint64_t m = ad_tiny_mask(x);
    return ad_double((ad_bits(x) & m) | (ad_bits(ad_sin_shift(x, 0)) & ~m));
}

AD_INLINE double ad_cos1(double x)
{
    uint64_t m = ad_tiny_mask(x);
    return ad_double((ad_bits(1.0) & m) | (ad_bits(ad_sin_shift(x, 1)) & ~m));
}

/* One thread's share: n elements, in blocks; the libm fix-up runs per block. */
AD_CLONES static void ad_trig_serial(int kind, const double *AD_RESTRICT x,
                                     const double *AD_RESTRICT g,
                                     double *AD_RESTRICT out, ptrdiff_t n)
{
    ptrdiff_t start, i;
    for (start = 0; start < n; start += AD_TRIG_BLOCK) {
        ptrdiff_t end = n - start < AD_TRIG_BLOCK ? n : start + AD_TRIG_BLOCK;
        if (kind == AD_TANH_BWD) {
            /* tanh's VJP from its output y (passed as x): g (1 - y y), rounded as
             * the three NumPy passes round it (no contraction), in one pass */
            for (i = start; i < end; i++) out[i] = g[i] * (1.0 - x[i] * x[i]);
            continue;
        }
        if (kind == AD_RELU_BWD) {
            /* PyTorch's threshold_backward: 0 where x <= 0, else g (also for x nan) */
            for (i = start; i < end; i++) out[i] = x[i] <= 0.0 ? 0.0 : g[i];
            continue;
        }
        switch (kind) {
        case AD_SIN:
            for (i = start; i < end; i++) out[i] = ad_sin1(x[i]);
            break;
        case AD_COS:
            for (i = start; i < end; i++) out[i] = ad_cos1(x[i]);
            break;
        case AD_SIN_BWD:
            for (i = start; i < end; i++) out[i] = g[i] * ad_cos1(x[i]);
            break;
        default:
            for (i = start; i < end; i++) out[i] = -g[i] * ad_sin1(x[i]);
            break;
        }
        uint64_t big = 0;   /* any |x| > AD_TRIG_MAX, inf or nan in the block? */
        for (i = start; i < end; i++)
            big |= (ad_bits(AD_TRIG_MAX) - (ad_bits(x[i]) & 0x7fffffffffffffffULL)) >> 63;
        if (!big) continue;
        for (i = start; i < end; i++) {
            if (!(fabs(x[i]) <= AD_TRIG_MAX)) {   /* also nan */
                switch (kind) {
                case AD_SIN: out[i] = sin(x[i]); break;
                case AD_COS: out[i] = cos(x[i]); break;
                case AD_SIN_BWD: out[i] = g[i] * cos(x[i]); break;
                default: out[i] = -g[i] * sin(x[i]); break;
                }
            }
        }
    }
}

/* GNU OpenMP is not fork-safe: a child of a process that ran a parallel region
 * hangs in its next one. So a forked child runs the kernels on one thread. */
static volatile int ad_forked = 0;
#if defined(_OPENMP) && !defined(_WIN32)
#include <pthread.h>
static void ad_on_fork_child(void) { ad_forked = 1; }
static int ad_init(void) { return pthread_atfork(NULL, NULL, ad_on_fork_child); }
#else
static int ad_init(void) { return 0; }
#endif

/* out[i] = f(x[i]) (g may be NULL for AD_SIN/AD_COS) on nthreads threads. */
static void ad_trig(int kind, const double *x, const double *g, double *out,
                    ptrdiff_t n, int nthreads)
{
#ifdef _OPENMP
    if (nthreads > 1 && n >= AD_PAR_MIN && !ad_forked) {
        int nblocks = (int)((n + AD_PAR_BLOCK - 1) / AD_PAR_BLOCK), b;
        #pragma omp parallel for num_threads(nthreads) schedule(dynamic)
        for (b = 0; b < nblocks; b++) {
            ptrdiff_t lo = (ptrdiff_t)b * AD_PAR_BLOCK;
            ptrdiff_t len = n - lo < AD_PAR_BLOCK ? n - lo : AD_PAR_BLOCK;
            ad_trig_serial(kind, x + lo, g ? g + lo : NULL, out + lo, len);
        }
        return;
    }
#else
    (void)nthreads;
#endif
    ad_trig_serial(kind, x, g, out, n);
}

static int ad_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

static int ad_default_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

#endif /* AD_TRIG_H */
