/*
 * Vectorisable float64 sin and cos for autodiff._kernels (see _kernels.pyx), and
 * two VJPs as one pass each: tanh's g (1 - y^2) (AD_TANH_BWD) and relu's
 * x <= 0 ? 0 : g (AD_RELU_BWD). tanh itself (AD_TANH) on CPUs with AVX-512 and
 * FMA only: see ad_tanh_v4 below.
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
       AD_RELU_BWD = 5, AD_TANH = 6,
       /* the two VJPs written into the gradient's own buffer: g is NULL, out holds g */
       AD_TANH_BWD_INTO = 7, AD_RELU_BWD_INTO = 8 };

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

/* -- tanh, for x86-64-v4 (AVX-512 with FMA) only ---------------------------------
 * NumPy's tanh is already vectorised; this one is faster only where AVX-512 makes
 * its ~30 operations per element cheap (8.5 vs 14-18 us on 8,192 elements, Zen 4).
 * Elsewhere ad_tanh_ok() is 0 and autodiff calls NumPy. The fused multiply-adds are
 * explicit fma() calls (exactly rounded), so the contraction switch does not matter.
 *
 * Method (|x| is a; the sign is copied back at the end; 0.55 is where the two
 * branches' worst errors meet):
 *   a < 0.55:  tanh a = a + a^3 R(a^2), R of degree 10 (Chebyshev fit to
 *              (tanh a - a)/a^3 on [0, 0.55^2], relative error 2e-18);
 *   a >= 0.55: tanh a = 1 - 2/(expm1(2a) + 2), with expm1(y) = 2^n (1 + p) - 1,
 *              n = floor(y / ln 2) (so no cancellation in 2^n (1 + p) - 1),
 *              r = y - n ln 2 in [0, ln 2) (ln 2 in two parts, the first with 11
 *              trailing zero bits: n ln2_hi is exact), p = expm1(r) =
 *              r + r^2/2 + r^3 Q(r), Q of degree 9 (fit on [-0.01, 0.71], relative
 *              error 8e-18). y is capped at 40 (tanh rounds to 1 from a = 19.1).
 * Both branches are computed and one is picked with a bit mask (no branch: the
 * loop vectorises). Measured against 120-bit mpmath on 4e4 points: at most 1.42
 * ulp (for a in 0.55-0.7, from the division), 0.66 ulp elsewhere; NumPy's: 1.16.
 * Signed zeros, subnormals (tanh a = a), +-inf (+-1) and nan (itself) are exact.
 * (The fits: mpmath.chebyfit at 200 bits; the coefficients rounded to double.) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define AD_HAVE_TANH_V4 1

static const double ad_tanh_r[11] = {
    -0.3333333333333333, 0.13333333333332714, -0.053968253967434016,
    0.021869488493666944, -0.008863234397814355, 0.003592110378689024,
    -0.001455661830100716, 0.0005889360520074057, -0.0002346347410887237,
    8.511313685577672e-05, -2.060276537636634e-05};
static const double ad_expm1_q[10] = {
    0.16666666666666669, 0.0416666666666679, 0.008333333333229121,
    0.0013888888911627723, 0.00019841267552461197, 2.4801714420170204e-05,
    2.755311606029859e-06, 2.7641956565181165e-07, 2.403924566701106e-08,
    2.7397082272876227e-09};
static const double ad_inv_ln2 = 1.4426950408889634;
static const double ad_ln2_hi = 6.93147180369123816490e-01;   /* 0x1.62e42feep-1 */
static const double ad_ln2_lo = 1.90821492927058770002e-10;

__attribute__((target("arch=x86-64-v4"))) static inline double ad_tanh1(double x)
{
    uint64_t abits = ad_bits(x) & 0x7fffffffffffffffULL;
    double a = ad_double(abits);
    /* masks from integer compares of the bits (a >= 0): all ones where true */
    uint64_t finite_y = (uint64_t)0 - ((abits - ad_bits(20.0)) >> 63);         /* a < 20 */
    uint64_t small = (uint64_t)0 - ((abits - ad_bits(0.55)) >> 63);            /* a < 0.55 */
    uint64_t is_nan = (uint64_t)0 - ((0x7ff0000000000000ULL - abits) >> 63);

    /* a >= 0.55 */
    double y = ad_double((ad_bits(2.0 * a) & finite_y) | (ad_bits(40.0) & ~finite_y));
    double t = fma(y, ad_inv_ln2, -0.5) + ad_shifter;   /* n = floor(y / ln 2) in its low bits */
    double n = t - ad_shifter;
    double r = fma(-n, ad_ln2_lo, fma(-n, ad_ln2_hi, y));
    double q = ad_expm1_q[9];
    q = fma(q, r, ad_expm1_q[8]); q = fma(q, r, ad_expm1_q[7]); q = fma(q, r, ad_expm1_q[6]);
    q = fma(q, r, ad_expm1_q[5]); q = fma(q, r, ad_expm1_q[4]); q = fma(q, r, ad_expm1_q[3]);
    q = fma(q, r, ad_expm1_q[2]); q = fma(q, r, ad_expm1_q[1]); q = fma(q, r, ad_expm1_q[0]);
    double z = r * r;
    double p = r + fma(z * r, q, 0.5 * z);              /* expm1(r) */
    double s = ad_double((ad_bits(t) + 1023) << 52);    /* 2^n */
    double big = 1.0 - 2.0 / (fma(s, p, s - 1.0) + 2.0);

    /* a < 0.55 */
    double a2 = a * a;
    double w = ad_tanh_r[10];
    w = fma(w, a2, ad_tanh_r[9]); w = fma(w, a2, ad_tanh_r[8]); w = fma(w, a2, ad_tanh_r[7]);
    w = fma(w, a2, ad_tanh_r[6]); w = fma(w, a2, ad_tanh_r[5]); w = fma(w, a2, ad_tanh_r[4]);
    w = fma(w, a2, ad_tanh_r[3]); w = fma(w, a2, ad_tanh_r[2]); w = fma(w, a2, ad_tanh_r[1]);
    w = fma(w, a2, ad_tanh_r[0]);
    double little = fma(a * a2, w, a);

    uint64_t th = (ad_bits(little) & small) | (ad_bits(big) & ~small);
    th |= ad_bits(x) & 0x8000000000000000ULL;
    return ad_double((th & ~is_nan) | (ad_bits(x) & is_nan));
}

__attribute__((target("arch=x86-64-v4"))) static void ad_tanh_v4(
    const double *AD_RESTRICT x, double *AD_RESTRICT out, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) out[i] = ad_tanh1(x[i]);
}

/* 1 if this CPU runs ad_tanh_v4 */
static int ad_tanh_ok(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("x86-64-v4") != 0;
}
#else
static int ad_tanh_ok(void) { return 0; }
#endif

/* One thread's share: n elements, in blocks; the libm fix-up runs per block. */
AD_CLONES static void ad_trig_serial(int kind, const double *AD_RESTRICT x,
                                     const double *AD_RESTRICT g,
                                     double *AD_RESTRICT out, ptrdiff_t n)
{
    ptrdiff_t start, i;
#ifdef AD_HAVE_TANH_V4
    if (kind == AD_TANH) {      /* callers check ad_tanh_ok() first */
        ad_tanh_v4(x, out, n);
        return;
    }
#endif
    for (start = 0; start < n; start += AD_TRIG_BLOCK) {
        ptrdiff_t end = n - start < AD_TRIG_BLOCK ? n : start + AD_TRIG_BLOCK;
        switch (kind) {     /* the VJPs of tanh and relu: no libm fix-up (continue) */
        case AD_TANH_BWD:
            /* tanh's VJP from its output y (passed as x): g (1 - y y), rounded as
             * the three NumPy passes round it (no contraction), in one pass */
            for (i = start; i < end; i++) out[i] = g[i] * (1.0 - x[i] * x[i]);
            continue;
        case AD_TANH_BWD_INTO:
            for (i = start; i < end; i++) out[i] = out[i] * (1.0 - x[i] * x[i]);
            continue;
        case AD_RELU_BWD:
            /* PyTorch's threshold_backward: 0 where x <= 0, else g (also for x nan) */
            for (i = start; i < end; i++) out[i] = x[i] <= 0.0 ? 0.0 : g[i];
            continue;
        case AD_RELU_BWD_INTO:
            for (i = start; i < end; i++) out[i] = x[i] <= 0.0 ? 0.0 : out[i];
            continue;
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
