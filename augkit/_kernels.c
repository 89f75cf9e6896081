/* augkit._kernels: the per-pixel work of the rotation, warp, brightness/contrast, noise, motion-blur,
 * pixelate and glare stages, in integer (or exactly specified float32) arithmetic.
 *
 * Why compiled code: these stages were OpenCV calls costing 5-8 ns per output pixel each
 * (OpenCV's warpAffine computes and looks up interpolation weights per pixel; filter2D
 * accumulates in float), which put one worker's output far below the speed SPEC section 7 asks
 * for. The rotation, levels, noise, filter and pixelate kernels have two paths:
 *
 *   - a portable C path (any compiler, any CPU), and
 *   - an AVX2 path (x86-64 with GCC or Clang), chosen at import when the CPU has AVX2;
 *
 * the row-shift and glare kernels are single plain loops the compiler vectorises for the
 * baseline CPU. Both paths compute the same integer formulas (the float32 noise and glare
 * steps round the same IEEE operations in the same order; the module is compiled with
 * -ffp-contract=off so no fused multiply-add changes a rounding), so output bytes do not depend
 * on the CPU: the tests run both paths on the same inputs and compare them byte for byte, and
 * compare both with plain numpy formulas of the definitions below.
 *
 * Images are C-contiguous uint8 buffers of H x W x 3 (BGR) unless said otherwise; every
 * function checks buffer sizes before touching memory and raises ValueError otherwise.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define AUGKIT_X86 1
#define AVX2_FN __attribute__((target("avx2")))
#else
#define AUGKIT_X86 0
#endif

static int use_simd = 0; /* set at import from the CPU; set_simd() lets tests force the C path */

/* v clamped into [0, n - 1]: the index of the edge pixel for a position beyond it (replicated border). */
static inline int64_t clamp_index(int64_t v, int64_t n) { return v < 0 ? 0 : v >= n ? n - 1 : v; }

/* ------------------------------------------------------------------------------------------
 * Rotation (any affine map): bilinear sampling with 1/128-pixel weights.
 *
 * For output pixel (x, y) the source position is (m0*x + m1*y + m2, m3*x + m4*y + m5), taken in
 * 16.16 fixed point: per row, X = llround((m1*y + m2) * 65536) + 256 and A = llround(m0 * 65536)
 * (Y, D alike), then X(x) = X + x*A. The +256 rounds the position to the nearest 1/128 pixel:
 * xi = X >> 16 and fx = (X >> 9) & 127 (arithmetic shifts, so negative positions floor).
 * The four neighbours are columns xi, xi+1 and rows yi, yi+1, each clamped into the image
 * (replicated border: a position beyond the edge takes the edge pixel). The weights are
 *   w00 = (128-fx)(128-fy), w01 = fx(128-fy), w10 = (128-fx)fy, w11 = fx*fy   (sum 16384)
 * and each channel is (w00*p00 + w01*p01 + w10*p10 + w11*p11 + 8192) >> 14.
 * ------------------------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *src;
    Py_ssize_t sstride; /* bytes per source row */
    int sw, sh;         /* the source's width and height */
    uint8_t *dst;
    int dh, dw;
    double m[6];
} affine_job;

static inline int64_t fixed(double v) { return (int64_t)llround(v * 65536.0); }


static inline void affine_pixel(const affine_job *j, int64_t X, int64_t Y, uint8_t *o)
{
    const int64_t xi = X >> 16, yi = Y >> 16;
    const Py_ssize_t x0 = 3 * clamp_index(xi, j->sw), x1 = 3 * clamp_index(xi + 1, j->sw);
    const uint8_t *p = j->src + clamp_index(yi, j->sh) * j->sstride;
    const uint8_t *q = j->src + clamp_index(yi + 1, j->sh) * j->sstride;
    int fx = (int)((X >> 9) & 127), fy = (int)((Y >> 9) & 127);
    int w00 = (128 - fx) * (128 - fy), w01 = fx * (128 - fy), w10 = (128 - fx) * fy, w11 = fx * fy;
    for (int c = 0; c < 3; c++)
        o[c] = (uint8_t)((w00 * p[x0 + c] + w01 * p[x1 + c] + w10 * q[x0 + c] + w11 * q[x1 + c] + 8192) >> 14);
}

static void affine_rows_c(const affine_job *j)
{
    int64_t A = fixed(j->m[0]), D = fixed(j->m[3]);
    for (int y = 0; y < j->dh; y++) {
        int64_t X = fixed(j->m[1] * y + j->m[2]) + 256, Y = fixed(j->m[4] * y + j->m[5]) + 256;
        uint8_t *o = j->dst + (Py_ssize_t)y * j->dw * 3;
        for (int x = 0; x < j->dw; x++)
            affine_pixel(j, X + x * A, Y + x * D, o + 3 * x);
    }
}

#if AUGKIT_X86
/* A byte shuffle giving dword i of each lane (bytes c+3i, 0, c+3i+3, 0): channel c of pixel i of
 * a run of BGR pixels and of its right neighbour, as two 16-bit values (c a constant). */
#define DWORD_PAIRS(c)                                                                                       \
    _mm256_setr_epi8((c), -1, (c) + 3, -1, (c) + 3, -1, (c) + 6, -1, (c) + 6, -1, (c) + 9, -1, (c) + 9, -1,  \
                     (c) + 12, -1, (c), -1, (c) + 3, -1, (c) + 3, -1, (c) + 6, -1, (c) + 6, -1, (c) + 9, -1, \
                     (c) + 9, -1, (c) + 12, -1)

/* 128-bit loads at lo and hi into the low and high lanes of one register. */
AVX2_FN static inline __m256i load_lanes(const uint8_t *lo, const uint8_t *hi)
{
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)lo)),
                                   _mm_loadu_si128((const __m128i *)hi), 1);
}

/* Pixels x0 .. x0+n-1 of a row, each clamped into [0, w - 1], as one run at d (3n bytes): the
 * source run of a step that reaches past the left or right edge. */
static void clamped_run(uint8_t *d, const uint8_t *row, int64_t x0, int n, int w)
{
    int i = 0;
    for (; i < n && x0 + i < 0; i++)
        memcpy(d + 3 * i, row, 3);
    if (i < n && x0 + i < w) {
        const int inside = (int)(w - (x0 + i) < n - i ? w - (x0 + i) : n - i);
        memcpy(d + 3 * i, row + 3 * (x0 + i), 3 * (size_t)inside);
        i += inside;
    }
    for (; i < n; i++)
        memcpy(d + 3 * i, row + 3 * (w - 1), 3);
}

/* The eight pixels of a fast step (see affine_rows_avx2), packed as 12 bytes at the bottom of
 * each 128-bit lane. r0, r1 (and, when `three`, r2) are runs of source columns xf .. xf+9 of
 * rows ylo, ylo+1 (and ylo+2); X and Y hold the eight pixels' 16.16 positions.
 * Each lane weighs its row pair with one multiply-add per row and channel: a lane whose row is
 * ylo takes (r0, r1) with weights (w0, w1), one whose row is ylo+1 takes (r1, r2); rather than
 * blending the rows of every channel, the weights are blended once (the unused row gets 0). */
AVX2_FN static inline __attribute__((always_inline)) __m256i
affine_step(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, const int three, __m256i X, __m256i Y, int64_t ylo)
{
    const __m256i m127 = _mm256_set1_epi32(127), m128 = _mm256_set1_epi32(128);
    const __m256i fx = _mm256_and_si256(_mm256_srai_epi32(X, 9), m127);
    const __m256i fy = _mm256_and_si256(_mm256_srai_epi32(Y, 9), m127);
    const __m256i gy = _mm256_sub_epi32(m128, fy);
    /* (128 - fx, fx) in the two 16-bit halves of each dword, times (gy, gy) and (fy, fy):
     * w0 = (w00, w01), w1 = (w10, w11); products of values <= 128 fit 16 bits */
    const __m256i hx = _mm256_or_si256(_mm256_sub_epi32(m128, fx), _mm256_slli_epi32(fx, 16));
    __m256i w0 = _mm256_mullo_epi16(hx, _mm256_or_si256(gy, _mm256_slli_epi32(gy, 16)));
    __m256i w1 = _mm256_mullo_epi16(hx, _mm256_or_si256(fy, _mm256_slli_epi32(fy, 16)));
    __m256i w2 = _mm256_setzero_si256();
    if (three) {
        /* lanes whose row is ylo + 1 move their weights one row down */
        const __m256i down = _mm256_cmpgt_epi32(_mm256_srai_epi32(Y, 16), _mm256_set1_epi32((int32_t)ylo));
        w2 = _mm256_and_si256(down, w1);
        w1 = _mm256_blendv_epi8(w1, w0, down);
        w0 = _mm256_andnot_si256(down, w0);
    }
    const __m256i s0 = load_lanes(r0, r0 + 12), s1 = load_lanes(r1, r1 + 12);
    const __m256i s2 = three ? load_lanes(r2, r2 + 12) : s1;
    const __m256i half = _mm256_set1_epi32(8192);
    __m256i out = _mm256_setzero_si256();
    for (int c = 0; c < 3; c++) {
        const __m256i pair = c == 0 ? DWORD_PAIRS(0) : c == 1 ? DWORD_PAIRS(1) : DWORD_PAIRS(2);
        __m256i v = _mm256_add_epi32(_mm256_madd_epi16(_mm256_shuffle_epi8(s0, pair), w0),
                                     _mm256_madd_epi16(_mm256_shuffle_epi8(s1, pair), w1));
        if (three)
            v = _mm256_add_epi32(v, _mm256_madd_epi16(_mm256_shuffle_epi8(s2, pair), w2));
        out = _mm256_or_si256(out, _mm256_slli_epi32(_mm256_srli_epi32(_mm256_add_epi32(v, half), 14), 8 * c));
    }
    return _mm256_shuffle_epi8(out, _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,
                                                     0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1));
}

/* Eight output pixels per step. For the small angles of a text-line rotation, eight neighbouring
 * output pixels almost always read eight neighbouring source columns (xi steps by exactly 1) from
 * at most two neighbouring source rows (the row changes at most once). Such a step loads the
 * source rows involved as plain 28-byte runs (no gathers: on many CPUs a gather costs more than
 * the whole step), arranges each channel's (left, right) pairs with one byte shuffle per row and
 * weighs each pair with one multiply-add; a step within one row pair (most steps) reads two rows,
 * one where the row changes reads three. The border costs little: rows are clamped when their
 * pointers are taken (a row above the image is row 0, so a step above it blends row 0 with
 * itself), and a step whose run reaches past the left or right edge first copies its ten columns,
 * clamped, into a scratch run. A row's last step ends at its last pixel (stepping back over
 * pixels already written, which it rewrites with the same bytes) and stores exactly its 24 bytes.
 * Any other step (a column skipped, steep maps) computes its pixels one by one with the portable
 * code; both give the same bytes. */
AVX2_FN static void affine_rows_avx2(const affine_job *j)
{
    const int64_t A = fixed(j->m[0]), D = fixed(j->m[3]);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i laneA = _mm256_mullo_epi32(lane, _mm256_set1_epi32((int32_t)A));
    const __m256i laneD = _mm256_mullo_epi32(lane, _mm256_set1_epi32((int32_t)D));
    /* the job's fields as locals: stores through o may alias *j, which would reload them */
    const uint8_t *const src = j->src;
    const Py_ssize_t stride = j->sstride;
    const int sw = j->sw, sh = j->sh, dw = j->dw;
    uint8_t scratch[3][32] = {{0}}; /* an edge step's three runs of ten clamped columns (30 bytes each) */

    for (int y = 0; y < j->dh; y++) {
        const int64_t X0 = fixed(j->m[1] * y + j->m[2]) + 256, Y0 = fixed(j->m[4] * y + j->m[5]) + 256;
        uint8_t *o = j->dst + (Py_ssize_t)y * dw * 3;
        if (dw < 8) {
            for (int x = 0; x < dw; x++)
                affine_pixel(j, X0 + x * A, Y0 + x * D, o + 3 * x);
            continue;
        }
        int64_t rows_of = INT64_MIN; /* the ylo whose clamped rows row[0..2] hold */
        const uint8_t *row[3] = {src, src, src};
        for (int x = 0; x < dw; x += 8) {
            if (x + 8 > dw)
                x = dw - 8; /* the row's last step ends at its last pixel */
            const int64_t Xf = X0 + x * A, Yf = Y0 + x * D;
            const int64_t xf = Xf >> 16, xl = (Xf + 7 * A) >> 16, yf = Yf >> 16, yl = (Yf + 7 * D) >> 16;
            const int64_t ylo = yf < yl ? yf : yl, yhi = yf < yl ? yl : yf;
            if (xl - xf != 7 || yhi - ylo > 1) {
                for (int i = 0; i < 8; i++)
                    affine_pixel(j, Xf + i * A, Yf + i * D, o + 3 * (x + i));
                continue;
            }
            if (ylo != rows_of) { /* along an output row the source rows change rarely */
                rows_of = ylo;
                for (int k = 0; k < 3; k++)
                    row[k] = src + clamp_index(ylo + k, sh) * stride;
            }
            const int three = yhi > ylo;
            const uint8_t *r0 = row[0], *r1 = row[1], *r2 = row[2];
            if (xf >= 0 && xf + 9 < sw) {
                r0 += 3 * xf;
                r1 += 3 * xf;
                r2 += 3 * xf;
            } else {
                clamped_run(scratch[0], r0, xf, 10, sw);
                clamped_run(scratch[1], r1, xf, 10, sw);
                if (three)
                    clamped_run(scratch[2], r2, xf, 10, sw);
                r0 = scratch[0];
                r1 = scratch[1];
                r2 = scratch[2];
            }
            const __m256i X = _mm256_add_epi32(_mm256_set1_epi32((int32_t)Xf), laneA);
            const __m256i Y = _mm256_add_epi32(_mm256_set1_epi32((int32_t)Yf), laneD);
            const __m256i out = three ? affine_step(r0, r1, r2, 1, X, Y, ylo) : affine_step(r0, r1, r1, 0, X, Y, ylo);
            uint8_t *p = o + 3 * x;
            const __m128i hi = _mm256_extracti128_si256(out, 1);
            _mm_storeu_si128((__m128i *)p, _mm256_castsi256_si128(out));
            if (x + 10 <= dw) {
                /* overwrites the first store's 4 spare bytes; the next step rewrites the 4 this
                 * one writes past its pixels */
                _mm_storeu_si128((__m128i *)(p + 12), hi);
            } else { /* near the row's end: exactly the step's 24 bytes */
                const int32_t tail = _mm_extract_epi32(hi, 2);
                _mm_storel_epi64((__m128i *)(p + 12), hi);
                memcpy(p + 20, &tail, 4);
            }
        }
    }
}
#endif

/* Whether every position of the job fits int32 (the AVX2 path's lanes). */
static int affine_fits_int32(const affine_job *j)
{
    const double limit = 2147483647.0 - 65536.0 * 4;
    for (int k = 0; k < 2; k++) {
        double y = k ? j->dh - 1 : 0;
        for (int e = 0; e < 2; e++) {
            double x = e ? j->dw : 0;
            if (fabs((j->m[0] * x + j->m[1] * y + j->m[2]) * 65536.0) > limit) return 0;
            if (fabs((j->m[3] * x + j->m[4] * y + j->m[5]) * 65536.0) > limit) return 0;
        }
    }
    return fabs(j->m[0] * 65536.0) * j->dw < limit && fabs(j->m[3] * 65536.0) * j->dw < limit;
}

static PyObject *k_affine(PyObject *self, PyObject *args)
{
    Py_buffer src, dst;
    int sh, sw, dh, dw;
    affine_job j;
    if (!PyArg_ParseTuple(args, "y*iiw*ii(dddddd)", &src, &sh, &sw, &dst, &dh, &dw,
                          &j.m[0], &j.m[1], &j.m[2], &j.m[3], &j.m[4], &j.m[5]))
        return NULL;
    PyObject *result = NULL;
    if (sh < 1 || sw < 1 || dh < 0 || dw < 0 || src.len < (Py_ssize_t)sh * sw * 3 || dst.len < (Py_ssize_t)dh * dw * 3) {
        PyErr_SetString(PyExc_ValueError, "affine: source must be at least 1x1 pixel and buffers must hold their shapes");
        goto done;
    }
    for (int k = 0; k < 6; k++)
        if (!isfinite(j.m[k]) || fabs(j.m[k]) > 1e7) {
            PyErr_SetString(PyExc_ValueError, "affine: matrix entries must be finite and below 1e7");
            goto done;
        }
    j.src = (const uint8_t *)src.buf;
    j.sstride = (Py_ssize_t)sw * 3;
    j.sw = sw;
    j.sh = sh;
    j.dst = (uint8_t *)dst.buf;
    j.dh = dh;
    j.dw = dw;
    Py_BEGIN_ALLOW_THREADS
#if AUGKIT_X86
    if (use_simd && affine_fits_int32(&j))
        affine_rows_avx2(&j);
    else
#endif
        affine_rows_c(&j);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    return result;
}

/* ------------------------------------------------------------------------------------------
 * Brightness/contrast: out = clamp((v*a + b + 32768) >> 16, 0, 255) per byte, with
 * a = llround(alpha * 65536) and b = llround(beta * 255 * 65536) computed by the caller.
 * ------------------------------------------------------------------------------------------ */

static inline uint8_t clamp255(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

static void levels_c(const uint8_t *s, uint8_t *d, Py_ssize_t n, int32_t a, int32_t b, Py_ssize_t i)
{
    for (; i < n; i++) d[i] = clamp255((s[i] * a + b + 32768) >> 16);
}

#if AUGKIT_X86
AVX2_FN static void levels_avx2(const uint8_t *s, uint8_t *d, Py_ssize_t n, int32_t a, int32_t b)
{
    const __m256i va = _mm256_set1_epi32(a), vb = _mm256_set1_epi32(b + 32768);
    Py_ssize_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(s + i));
        __m256i v0 = _mm256_cvtepu8_epi32(bytes), v1 = _mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8));
        v0 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(v0, va), vb), 16);
        v1 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(v1, va), vb), 16);
        __m256i w = _mm256_packs_epi32(v0, v1);            /* per lane: v0 lo, v1 lo | v0 hi, v1 hi */
        w = _mm256_permute4x64_epi64(w, 0xD8);              /* v0 (8), v1 (8) */
        __m128i out = _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
        _mm_storeu_si128((__m128i *)(d + i), out);
    }
    levels_c(s, d, n, a, b, i);
}
#endif

static PyObject *k_levels(PyObject *self, PyObject *args)
{
    Py_buffer src, dst;
    long long a, b;
    if (!PyArg_ParseTuple(args, "y*w*LL", &src, &dst, &a, &b)) return NULL;
    PyObject *result = NULL;
    if (dst.len < src.len || a < 0 || a > 8 * 65536 || b < -300LL * 65536 || b > 300LL * 65536) {
        PyErr_SetString(PyExc_ValueError, "levels: destination too small or factors out of range");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
#if AUGKIT_X86
    if (use_simd)
        levels_avx2((const uint8_t *)src.buf, (uint8_t *)dst.buf, src.len, (int32_t)a, (int32_t)b);
    else
#endif
        levels_c((const uint8_t *)src.buf, (uint8_t *)dst.buf, src.len, (int32_t)a, (int32_t)b, 0);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    return result;
}

/* ------------------------------------------------------------------------------------------
 * Gaussian noise: out[i] = clamp(rint((float)v[i] + s * (float)n[i]), 0, 255) with s = (float)sigma / 4096
 * and n a run of the caller's table of normals in units of 1/4096 (int16): one float32 multiply,
 * one float32 add, round half to even. (Scaling by a power of two is exact, so s * n is the
 * float32 product of sigma and n / 4096.) Half the bytes of float32 normals: the run of an image
 * is read from a table too large for the caches, and the reads were a third of the time.
 * ------------------------------------------------------------------------------------------ */

static void noise_c(const uint8_t *s, uint8_t *d, Py_ssize_t len, const int16_t *n, float scale, Py_ssize_t i)
{
    for (; i < len; i++) {
        float t = (float)s[i] + scale * (float)n[i];
        long r = lrintf(t); /* the default rounding mode: half to even, as the AVX2 conversion */
        d[i] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
    }
}

#if AUGKIT_X86
AVX2_FN static void noise_avx2(const uint8_t *s, uint8_t *d, Py_ssize_t len, const int16_t *n, float scale)
{
    const __m256 vs = _mm256_set1_ps(scale);
    Py_ssize_t i = 0;
    for (; i + 16 <= len; i += 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(s + i));
        __m256 f0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
        __m256 f1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8)));
        __m256 n0 = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(n + i))));
        __m256 n1 = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(n + i + 8))));
        f0 = _mm256_add_ps(f0, _mm256_mul_ps(vs, n0));
        f1 = _mm256_add_ps(f1, _mm256_mul_ps(vs, n1));
        __m256i w = _mm256_packs_epi32(_mm256_cvtps_epi32(f0), _mm256_cvtps_epi32(f1));
        w = _mm256_permute4x64_epi64(w, 0xD8);
        _mm_storeu_si128((__m128i *)(d + i), _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
    }
    noise_c(s, d, len, n, scale, i);
}
#endif

static PyObject *k_noise(PyObject *self, PyObject *args)
{
    Py_buffer src, dst, normals;
    Py_ssize_t start;
    double sigma;
    if (!PyArg_ParseTuple(args, "y*w*y*nd", &src, &dst, &normals, &start, &sigma)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t count = normals.len / (Py_ssize_t)sizeof(int16_t);
    if (dst.len < src.len || start < 0 || start > count - src.len || !isfinite(sigma) || fabs(sigma) > 1e4) {
        PyErr_SetString(PyExc_ValueError, "noise: destination too small, normals too few or sigma out of range");
        goto done;
    }
    const int16_t *n = (const int16_t *)normals.buf + start;
    const float scale = (float)sigma / 4096.0f;
    Py_BEGIN_ALLOW_THREADS
#if AUGKIT_X86
    if (use_simd)
        noise_avx2((const uint8_t *)src.buf, (uint8_t *)dst.buf, src.len, n, scale);
    else
#endif
        noise_c((const uint8_t *)src.buf, (uint8_t *)dst.buf, src.len, n, scale, 0);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    PyBuffer_Release(&normals);
    return result;
}

/* ------------------------------------------------------------------------------------------
 * Sparse 2-D filter with 8-bit integer weights summing to 256 (the motion-blur line kernel),
 * border replicated. For the H x W source image I and radius r:
 *   out[y][x][c] = (128 + sum_k q_k * I[clamp(y + dy_k - r, 0, H-1)][clamp(x + dx_k - r, 0, W-1)][c]) >> 8
 * that is (128 + sum_k q_k * P[y + dy_k][x + dx_k][c]) >> 8 over P, the image padded by r on
 * every side with its border pixels repeated, without making that padded copy. Taps are
 * (dy, dx, q) int32 triples with 0 <= dy, dx <= 2r, q >= 0 and sum q = 256, so the sum is at
 * most 255 * 256 + 128 = 65408: it fits unsigned 16 bits.
 *
 * Rows cost nothing: each output row takes each tap's source row at its clamped index. Columns:
 * on the interior columns [xa, xb) every tap's column lies inside the image, so they read the
 * image rows as they are. The C path clamps each tap's column on the few columns within r of
 * the left and right edges (on all of them in an image narrower than the kernel). The AVX2 path
 * computes whole 32-byte blocks, so it takes the first lb and last rb bytes of each output row
 * (the edge columns rounded up to whole blocks) from two narrow strips holding the padded
 * pixels those bytes read, for every image row (about 50 bytes a row each side; clamping
 * scalar code there took a third of the whole filter's time), and the rest from the image rows. An image
 * too narrow for two strips and a block between takes all its bytes from one strip (its rows
 * padded); one under 32 bytes a row (10 pixels or fewer) takes the C path.
 * ------------------------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *src;
    uint8_t *dst;      /* H x W x 3, not overlapping src */
    int h, w, r;
    const int32_t *taps;
    int ntaps;
    Py_ssize_t xa, xb; /* the interior columns */
} filter_job;


/* Output columns [x0, x1) of row y, each tap's column clamped into the image; rows[k] is tap k's
 * source row. */
static void filter_cols_c(const filter_job *f, const uint8_t *const *rows, int y, Py_ssize_t x0, Py_ssize_t x1)
{
    uint8_t *o = f->dst + (Py_ssize_t)y * f->w * 3;
    for (Py_ssize_t x = x0; x < x1; x++) {
        uint32_t acc[3] = {128, 128, 128};
        for (int k = 0; k < f->ntaps; k++) {
            const int32_t *t = f->taps + 3 * k;
            const uint8_t *p = rows[k] + 3 * clamp_index(x + t[1] - f->r, f->w);
            for (int c = 0; c < 3; c++) acc[c] += (uint32_t)t[2] * p[c];
        }
        for (int c = 0; c < 3; c++) o[3 * x + c] = (uint8_t)(acc[c] >> 8);
    }
}

/* rows: scratch for one pointer per tap. */
static void filter_c(const filter_job *f, const uint8_t **rows)
{
    Py_ssize_t row = (Py_ssize_t)f->w * 3;
    for (int y = 0; y < f->h; y++) {
        for (int k = 0; k < f->ntaps; k++)
            rows[k] = f->src + clamp_index((Py_ssize_t)y + f->taps[3 * k] - f->r, f->h) * row;
        filter_cols_c(f, rows, y, 0, f->xa);
        uint8_t *o = f->dst + (Py_ssize_t)y * row;
        for (Py_ssize_t i = 3 * f->xa; i < 3 * f->xb; i++) { /* interior: no clamping */
            uint32_t acc = 128;
            for (int k = 0; k < f->ntaps; k++) {
                const int32_t *t = f->taps + 3 * k;
                acc += (uint32_t)t[2] * rows[k][i + 3 * ((Py_ssize_t)t[1] - f->r)];
            }
            o[i] = (uint8_t)(acc >> 8);
        }
        filter_cols_c(f, rows, y, f->xb, f->w);
    }
}

#if AUGKIT_X86
/* How the AVX2 path pairs taps. It weighs the bytes of two taps with one unsigned x signed 8-bit
 * multiply that adds the two products into a signed 16-bit value, saturating at 32767, so taps a
 * and b share one only when q_a <= 127, q_b <= 127 and q_a + q_b <= 128 (then the value is at most
 * 255 * 128 = 32640 and never saturates). The rule: sort the taps by weight, largest first (equal
 * weights in tap order), and repeatedly take the largest tap left: it pairs with the smallest tap
 * left when the two are allowed together; otherwise no tap could join it and it goes alone. This
 * makes as many pairs as any arrangement can. order[] gets the taps of the pairs (a0, b0, a1, b1,
 * ...) followed by the lone taps; returns the number of pairs. */
typedef struct {
    int32_t q;
    int k;
} filter_weight;

static int filter_heavier(const void *a, const void *b)
{
    const filter_weight *u = (const filter_weight *)a, *v = (const filter_weight *)b;
    if (u->q != v->q) return u->q > v->q ? -1 : 1;
    return (u->k > v->k) - (u->k < v->k);
}

static int filter_pairs(const int32_t *taps, int n, filter_weight *sorted, int *order)
{
    for (int k = 0; k < n; k++) {
        sorted[k].q = taps[3 * k + 2];
        sorted[k].k = k;
    }
    qsort(sorted, (size_t)n, sizeof *sorted, filter_heavier);
    int front = 0, back = n, i = 0, j = n - 1;
    while (i <= j) {
        if (i < j && sorted[i].q <= 127 && sorted[i].q + sorted[j].q <= 128) {
            order[front++] = sorted[i++].k;
            order[front++] = sorted[j--].k;
        } else {
            order[--back] = sorted[i++].k;
        }
    }
    return front / 2;
}

/* The bytes of padded pixels [p0, p1) of every image row (padded pixel P is image column
 * clamp(P - r, 0, W-1)), (p1 - p0) * 3 bytes a row: the AVX2 path's edge strips. */
static void filter_strip(const filter_job *f, uint8_t *strip, Py_ssize_t p0, Py_ssize_t p1)
{
    const Py_ssize_t row = (Py_ssize_t)f->w * 3, stride = 3 * (p1 - p0);
    Py_ssize_t a = p0 > f->r ? p0 : f->r, b = p1 < (Py_ssize_t)f->w + f->r ? p1 : (Py_ssize_t)f->w + f->r;
    a = a < p1 ? a : p1; /* [p0, a) left of the image, [a, b) inside, [b, p1) right of it */
    b = b > a ? b : a;
    for (Py_ssize_t y = 0; y < f->h; y++) {
        const uint8_t *in = f->src + y * row;
        uint8_t *s = strip + y * stride;
        for (Py_ssize_t P = p0; P < a; P++, s += 3) memcpy(s, in, 3);
        memcpy(s, in + 3 * (a - f->r), (size_t)(3 * (b - a)));
        s += 3 * (b - a);
        for (Py_ssize_t P = b; P < p1; P++, s += 3) memcpy(s, in + row - 3, 3);
    }
}

typedef struct {
    int npairs;
    __m256i *w;            /* per pair or lone tap (below), 32-byte aligned */
    const int16_t *wq;     /* the same as one 16-bit word each */
    const uint8_t **p;     /* per slot of filter_pairs' order: the source byte of a run's first output byte */
    Py_ssize_t *line, *dy, *dx3; /* per slot: the tap's source row for the current output row; dy; 3 dx */
    Py_ssize_t lb, rb;     /* bytes of each output row taken from the left and the right strip */
    const uint8_t *left, *right; /* padded pixels [0, lb / 3 + 2r + 1) and [rp0, W + 2r) of every row */
    Py_ssize_t lstride, rstride, rp0;
} filter_plan;

/* Pins a value into a register. The loop below is bound by micro-ops issued (its interleaves
 * take the one shuffle port, and little else is left to save). Pinned, each tap's pointer is
 * addressed base + offset, which stays one micro-op with its load where GCC's base + index
 * would take two, and the first tap's bytes of a block are loaded once rather than once per
 * interleave (the second tap's go from memory straight into both interleaves). */
#define FILTER_PIN(x) __asm__("" : "+r"(x))
#define FILTER_PINV(x) __asm__("" : "+x"(x))

/* Output bytes j .. j + 32 * blocks (1 to 4 blocks) of a run, into o + j. p[s] is the source byte,
 * for the run's first output byte, of the tap in slot s of filter_pairs' order. A pair (slots 2t,
 * 2t+1) interleaves the two taps' bytes and weighs them with one multiply-add against w[t] = the
 * bytes (q_a, q_b) repeated; a lone tap (slots from 2 npairs on) is widened against zero and
 * multiplied by w[t] = its q in every 16-bit word. Sums wrap in 16 bits (exact: the total is
 * below 65536) and end with a logical shift. The interleaves work within 128-bit lanes, so lo
 * holds the sums of bytes 0-7 and 16-23 of a block, hi those of 8-15 and 24-31; the final pack,
 * also per lane, puts them back in order. Up to four blocks share each pointer and weight. */
__attribute__((always_inline)) AVX2_FN static inline void
filter_blocks(const uint8_t *const *p, const __m256i *w, int npairs, int n, Py_ssize_t j, uint8_t *o, const int blocks)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256i lo[4], hi[4];
    for (int b = 0; b < blocks; b++) lo[b] = hi[b] = _mm256_set1_epi16(128);
    const uint8_t *const *ps = p, *const *pairs_end = p + 2 * npairs, *const *end = p + n;
    for (; ps < pairs_end; ps += 2, w++) {
        const __m256i wt = _mm256_load_si256(w);
        const uint8_t *a = ps[0] + j, *c = ps[1] + j;
        FILTER_PIN(a);
        FILTER_PIN(c);
        for (int b = 0; b < blocks; b++) {
            __m256i u = _mm256_loadu_si256((const __m256i *)(a + 32 * b));
            __m256i v = _mm256_loadu_si256((const __m256i *)(c + 32 * b));
            FILTER_PINV(u); /* v is read twice, straight into the two interleaves */
            lo[b] = _mm256_add_epi16(lo[b], _mm256_maddubs_epi16(_mm256_unpacklo_epi8(u, v), wt));
            hi[b] = _mm256_add_epi16(hi[b], _mm256_maddubs_epi16(_mm256_unpackhi_epi8(u, v), wt));
        }
    }
    for (; ps < end; ps++, w++) {
        const __m256i wt = _mm256_load_si256(w);
        const uint8_t *a = ps[0] + j;
        FILTER_PIN(a);
        for (int b = 0; b < blocks; b++) {
            __m256i u = _mm256_loadu_si256((const __m256i *)(a + 32 * b));
            FILTER_PINV(u);
            lo[b] = _mm256_add_epi16(lo[b], _mm256_mullo_epi16(_mm256_unpacklo_epi8(u, zero), wt));
            hi[b] = _mm256_add_epi16(hi[b], _mm256_mullo_epi16(_mm256_unpackhi_epi8(u, zero), wt));
        }
    }
    for (int b = 0; b < blocks; b++)
        _mm256_storeu_si256((__m256i *)(o + j + 32 * b),
                            _mm256_packus_epi16(_mm256_srli_epi16(lo[b], 8), _mm256_srli_epi16(hi[b], 8)));
}

/* 1 to 4 blocks from byte j, two at a time (four at once spill registers here). */
__attribute__((noinline)) AVX2_FN static void filter_some_blocks(const filter_plan *pl, int n, Py_ssize_t j, uint8_t *o,
                                                                 int blocks)
{
    for (; blocks >= 2; blocks -= 2, j += 64) filter_blocks(pl->p, pl->w, pl->npairs, n, j, o, 2);
    if (blocks) filter_blocks(pl->p, pl->w, pl->npairs, n, j, o, 1);
}

/* A run of len >= 32 output bytes from the sources in pl->p: 128 bytes a step, then the rest in
 * as few blocks as cover it, ending at the run's end (a block that starts before the rest
 * rewrites a few bytes with the same values). */
AVX2_FN static void filter_run(const filter_plan *pl, int n, Py_ssize_t len, uint8_t *o)
{
    Py_ssize_t j = 0;
    for (; j + 128 <= len; j += 128) filter_blocks(pl->p, pl->w, pl->npairs, n, j, o, 4);
    int blocks = (int)((len - j + 31) / 32);
    if (blocks && len < 32 * blocks) { /* under 128 bytes, not whole blocks */
        filter_some_blocks(pl, n, 0, o, (int)(len / 32));
        blocks = 1;
    }
    if (blocks) filter_some_blocks(pl, n, len - 32 * blocks, o, blocks);
}

/* pl: all but w, which this fills from wq. */
AVX2_FN static void filter_avx2(const filter_job *f, const filter_plan *pl)
{
    const int n = f->ntaps;
    const Py_ssize_t row = (Py_ssize_t)f->w * 3, mid = row - pl->lb - pl->rb;
    const uint8_t **p = pl->p;
    for (int t = 0; t < n - pl->npairs; t++) pl->w[t] = _mm256_set1_epi16(pl->wq[t]);
    for (int y = 0; y < f->h; y++) {
        for (int s = 0; s < n; s++) pl->line[s] = clamp_index(y + pl->dy[s] - f->r, f->h);
        uint8_t *o = f->dst + (Py_ssize_t)y * row;
        /* the lowest image row the next output row can read (no earlier one read it): an image
         * that is not in cache otherwise waits on it (prefetched, such calls took 15% less) */
        const char *next = (const char *)f->src + clamp_index((Py_ssize_t)y + f->r + 1, f->h) * row;
        for (Py_ssize_t i = 0; i < row; i += 64) _mm_prefetch(next + i, _MM_HINT_T0);
        if (pl->lb) { /* output byte 0 reads padded byte 3 dx, strip byte 3 dx */
            for (int s = 0; s < n; s++) p[s] = pl->left + pl->line[s] * pl->lstride + pl->dx3[s];
            filter_run(pl, n, pl->lb, o);
        }
        if (mid) { /* output byte lb reads image byte lb + 3 (dx - r) >= 0 */
            for (int s = 0; s < n; s++) p[s] = f->src + pl->line[s] * row + pl->lb + pl->dx3[s] - 3 * f->r;
            filter_run(pl, n, mid, o + pl->lb);
        }
        if (pl->rb) { /* output byte row - rb reads padded byte row - rb + 3 dx, strip byte that - 3 rp0 */
            for (int s = 0; s < n; s++)
                p[s] = pl->right + pl->line[s] * pl->rstride + (row - pl->rb - 3 * pl->rp0) + pl->dx3[s];
            filter_run(pl, n, pl->rb, o + row - pl->rb);
        }
    }
}
#endif

static PyObject *k_filter(PyObject *self, PyObject *args)
{
    Py_buffer src, dst, taps;
    int h, w, r;
    if (!PyArg_ParseTuple(args, "y*iiiw*y*", &src, &h, &w, &r, &dst, &taps)) return NULL;
    PyObject *result = NULL;
    filter_job f;
    f.ntaps = (int)(taps.len / (3 * (Py_ssize_t)sizeof(int32_t)));
    void *scratch = NULL;
    int32_t *own = NULL; /* the taps, copied: they set addresses, so they must not change after the checks */
    if (h < 0 || w < 0 || r < 0 || r > (1 << 20)) {
        PyErr_Format(PyExc_ValueError, "filter: image %d x %d with radius %d (want sizes >= 0, radius 0 to 2^20)", h, w, r);
        goto done;
    }
    if (src.len < (Py_ssize_t)h * w * 3 || dst.len < (Py_ssize_t)h * w * 3) {
        PyErr_Format(PyExc_ValueError, "filter: source (%zd bytes) or output (%zd bytes) smaller than %d x %d x 3",
                     src.len, dst.len, h, w);
        goto done;
    }
    if (f.ntaps < 1 || taps.len != 12 * (Py_ssize_t)f.ntaps) {
        PyErr_SetString(PyExc_ValueError, "filter: taps must be one or more int32 rows (dy, dx, q)");
        goto done;
    }
    if (!(own = (int32_t *)malloc((size_t)taps.len))) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(own, taps.buf, (size_t)taps.len);
    f.taps = own;
    int32_t dxmin = 2 * r, dxmax = 0;
    int64_t sum = 0;
    for (int k = 0; k < f.ntaps; k++) {
        const int32_t *t = f.taps + 3 * k;
        if (t[0] < 0 || t[0] > 2 * r || t[1] < 0 || t[1] > 2 * r || t[2] < 0) {
            PyErr_Format(PyExc_ValueError, "filter: tap (%d, %d, %d) outside 0 <= dy, dx <= 2 * radius = %d, q >= 0",
                         t[0], t[1], t[2], 2 * r);
            goto done;
        }
        dxmin = t[1] < dxmin ? t[1] : dxmin;
        dxmax = t[1] > dxmax ? t[1] : dxmax;
        sum += t[2];
    }
    if (sum != 256) {
        PyErr_Format(PyExc_ValueError, "filter: tap weights sum to %lld, not 256", (long long)sum);
        goto done;
    }
    f.src = (const uint8_t *)src.buf;
    f.dst = (uint8_t *)dst.buf;
    f.h = h;
    f.w = w;
    f.r = r;
    /* interior columns: x + dx - r inside [0, W) for every tap */
    f.xa = r - dxmin < 0 ? 0 : r - dxmin < w ? r - dxmin : w;
    f.xb = (Py_ssize_t)w + r - dxmax > w ? w : (Py_ssize_t)w + r - dxmax;
    f.xb = f.xb < f.xa ? f.xa : f.xb;
    const size_t n = (size_t)f.ntaps;
#if AUGKIT_X86
    /* the AVX2 path's edge bytes: the edge columns rounded up to whole 32-byte blocks */
    filter_plan pl;
    pl.lb = 32 * ((3 * f.xa + 31) / 32);
    pl.rb = 32 * ((3 * (w - f.xb) + 31) / 32);
    if (3 * (Py_ssize_t)w - pl.lb - pl.rb < 32) { /* narrow: all from the left strip */
        pl.lb = 3 * (Py_ssize_t)w;
        pl.rb = 0;
    }
    if (use_simd && 3 * (Py_ssize_t)w >= 32) {
        pl.rp0 = (3 * (Py_ssize_t)w - pl.rb) / 3;
        pl.lstride = pl.lb ? 3 * (pl.lb / 3 + 1 + 2 * (Py_ssize_t)r) : 0;
        pl.rstride = pl.rb ? 3 * ((Py_ssize_t)w + 2 * r - pl.rp0) : 0;
        size_t wbytes = 32 * n + 32, pbytes = n * (sizeof(uint8_t *) + 3 * sizeof(Py_ssize_t) + sizeof(filter_weight)
                                                   + sizeof(int) + sizeof(int16_t));
        scratch = malloc(wbytes + pbytes + (size_t)h * (size_t)(pl.lstride + pl.rstride));
        if (!scratch) {
            PyErr_NoMemory();
            goto done;
        }
        pl.w = (__m256i *)(((uintptr_t)scratch + 31) & ~(uintptr_t)31);
        pl.p = (const uint8_t **)((char *)scratch + wbytes);
        pl.line = (Py_ssize_t *)(pl.p + n);
        pl.dy = pl.line + n;
        pl.dx3 = pl.dy + n;
        filter_weight *sorted = (filter_weight *)(pl.dx3 + n);
        int *order = (int *)(sorted + n);
        int16_t *wq = (int16_t *)(order + n);
        uint8_t *left = (uint8_t *)(wq + n), *right = left + (size_t)h * pl.lstride;
        Py_BEGIN_ALLOW_THREADS
        pl.npairs = filter_pairs(f.taps, f.ntaps, sorted, order);
        for (int s = 0, t = 0; s < f.ntaps; t++) {
            const int32_t *a = f.taps + 3 * order[s];
            if (t < pl.npairs) {
                const int32_t *b = f.taps + 3 * order[s + 1];
                wq[t] = (int16_t)(a[2] | b[2] << 8);
                pl.dy[s + 1] = b[0];
                pl.dx3[s + 1] = 3 * b[1];
            } else {
                wq[t] = (int16_t)a[2];
            }
            pl.dy[s] = a[0];
            pl.dx3[s] = 3 * a[1];
            s += t < pl.npairs ? 2 : 1;
        }
        pl.wq = wq;
        if (pl.lb) filter_strip(&f, left, 0, pl.lstride / 3);
        if (pl.rb) filter_strip(&f, right, pl.rp0, (Py_ssize_t)w + 2 * r);
        pl.left = left;
        pl.right = right;
        filter_avx2(&f, &pl);
        Py_END_ALLOW_THREADS
        goto finished;
    }
#endif
    scratch = malloc(sizeof(uint8_t *) * n);
    if (!scratch) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    filter_c(&f, (const uint8_t **)scratch);
    Py_END_ALLOW_THREADS
#if AUGKIT_X86
finished:
#endif
    result = Py_None;
    Py_INCREF(result);
done:
    free(scratch);
    free(own);
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    PyBuffer_Release(&taps);
    return result;
}

/* ------------------------------------------------------------------------------------------
 * Row shift (the cylindrical warp): row y of the output is row y of the source moved right by
 * s_y / 128 pixels (s_y an integer, the caller's shift rounded to 1/128 pixel), linearly
 * interpolated, neighbours clamped into the row (replicate):
 *   P = 128*x - s_y, xi = P >> 7, f = P & 127,
 *   out[y][x][c] = ((128 - f) * src[y][clamp(xi)][c] + f * src[y][clamp(xi + 1)][c] + 64) >> 7.
 * Within a row f is constant and the source run is contiguous, so the inner loop is a plain
 * two-tap blend the compiler vectorises; the clamped ends are done pixel by pixel.
 * ------------------------------------------------------------------------------------------ */


static PyObject *k_shift_rows(PyObject *self, PyObject *args)
{
    Py_buffer src, dst, shifts;
    int h, w, dw;
    if (!PyArg_ParseTuple(args, "y*iiw*iy*", &src, &h, &w, &dst, &dw, &shifts)) return NULL;
    PyObject *result = NULL;
    if (h < 0 || w < 1 || dw < 0 || src.len < (Py_ssize_t)h * w * 3 || dst.len < (Py_ssize_t)h * dw * 3
        || shifts.len != (Py_ssize_t)h * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError, "shift_rows: buffers must hold their shapes, one int32 shift per row");
        goto done;
    }
    const int32_t *sv = (const int32_t *)shifts.buf;
    Py_BEGIN_ALLOW_THREADS
    for (int y = 0; y < h; y++) {
        const uint8_t *row = (const uint8_t *)src.buf + (Py_ssize_t)y * w * 3;
        uint8_t *o = (uint8_t *)dst.buf + (Py_ssize_t)y * dw * 3;
        const int64_t neg = -(int64_t)sv[y];
        const Py_ssize_t off = (Py_ssize_t)(neg >> 7); /* xi = x + off */
        const int f = (int)(neg & 127), g = 128 - f;
        /* pixels whose two neighbours both lie inside the row: 0 <= x + off and x + off + 1 <= w - 1 */
        Py_ssize_t lo = -off, hi = (Py_ssize_t)w - 2 - off; /* inclusive */
        if (lo < 0) lo = 0;
        if (hi > (Py_ssize_t)dw - 1) hi = (Py_ssize_t)dw - 1;
        for (Py_ssize_t x = 0; x < dw; x++) {
            if (x == lo && lo <= hi) {
                const uint8_t *a = row + 3 * (x + off);
                uint8_t *out = o + 3 * x;
                Py_ssize_t n = 3 * (hi - lo + 1);
                for (Py_ssize_t i = 0; i < n; i++)
                    out[i] = (uint8_t)((g * a[i] + f * a[i + 3] + 64) >> 7);
                x = hi;
                continue;
            }
            const uint8_t *a = row + 3 * clamp_index(x + off, w), *b = row + 3 * clamp_index(x + off + 1, w);
            for (int c = 0; c < 3; c++) o[3 * x + c] = (uint8_t)((g * a[c] + f * b[c] + 64) >> 7);
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    PyBuffer_Release(&shifts);
    return result;
}

/* ------------------------------------------------------------------------------------------
 * Glare: the source plus a weight per pixel (the same for its three channels), saturating:
 *   weight[y][x] = clamp(rint((rows[y] * cols[x - x0]) * alpha), 0, 255) in float32 for
 *   x0 <= x < x1, zero elsewhere; out = min(v + weight, 255).
 * rows[] holds 255 times the blurred row indicator, cols3[] the blurred column indicator over
 * [x0, x1) (where it is non-zero) with each value three times, once per channel byte, so the
 * band is one flat loop over bytes.
 * ------------------------------------------------------------------------------------------ */

static void glare_run_c(const uint8_t *s, uint8_t *o, const float *c3, Py_ssize_t n, float r, float a, Py_ssize_t i)
{
    for (; i < n; i++) {
        long v = lrintf((r * c3[i]) * a); /* half to even, as the SSE2 conversion */
        long t = s[i] + (v < 0 ? 0 : v);
        o[i] = (uint8_t)(t > 255 ? 255 : t);
    }
}

static void glare_run(const uint8_t *s, uint8_t *o, const float *c3, Py_ssize_t n, float r, float a)
{
    Py_ssize_t i = 0;
#if defined(__SSE2__)
    /* x86-64 always has SSE2: four weights per multiply, 16 bytes per saturating add */
    const __m128 vr = _mm_set1_ps(r), va = _mm_set1_ps(a);
    for (; i + 16 <= n; i += 16) {
        __m128i w0 = _mm_cvtps_epi32(_mm_mul_ps(_mm_mul_ps(vr, _mm_loadu_ps(c3 + i)), va));
        __m128i w1 = _mm_cvtps_epi32(_mm_mul_ps(_mm_mul_ps(vr, _mm_loadu_ps(c3 + i + 4)), va));
        __m128i w2 = _mm_cvtps_epi32(_mm_mul_ps(_mm_mul_ps(vr, _mm_loadu_ps(c3 + i + 8)), va));
        __m128i w3 = _mm_cvtps_epi32(_mm_mul_ps(_mm_mul_ps(vr, _mm_loadu_ps(c3 + i + 12)), va));
        /* signed saturation to 16 bits, then unsigned to 8: clamp(v, 0, 255) */
        __m128i w = _mm_packus_epi16(_mm_packs_epi32(w0, w1), _mm_packs_epi32(w2, w3));
        _mm_storeu_si128((__m128i *)(o + i), _mm_adds_epu8(_mm_loadu_si128((const __m128i *)(s + i)), w));
    }
#endif
    glare_run_c(s, o, c3, n, r, a, i);
}

static PyObject *k_glare(PyObject *self, PyObject *args)
{
    Py_buffer src, dst, rows, cols;
    int h, w, x0, x1;
    double alpha;
    if (!PyArg_ParseTuple(args, "y*iiw*y*y*iid", &src, &h, &w, &dst, &rows, &cols, &x0, &x1, &alpha)) return NULL;
    PyObject *result = NULL;
    if (h < 0 || w < 0 || src.len < (Py_ssize_t)h * w * 3 || dst.len < (Py_ssize_t)h * w * 3 || x0 < 0 || x1 < x0
        || x1 > w || rows.len != (Py_ssize_t)h * (Py_ssize_t)sizeof(float)
        || cols.len != 3 * (Py_ssize_t)(x1 - x0) * (Py_ssize_t)sizeof(float) || !isfinite(alpha) || fabs(alpha) > 1e4) {
        PyErr_SetString(PyExc_ValueError, "glare: buffers must hold their shapes: h row weights, 3 (x1 - x0) column weights");
        goto done;
    }
    const float *rv = (const float *)rows.buf, *c3 = (const float *)cols.buf;
    Py_BEGIN_ALLOW_THREADS
    const Py_ssize_t n = (Py_ssize_t)w * 3, band = 3 * (Py_ssize_t)(x1 - x0);
    for (int y = 0; y < h; y++) {
        const uint8_t *s = (const uint8_t *)src.buf + y * n;
        uint8_t *o = (uint8_t *)dst.buf + y * n;
        if (o != s) /* in place, the columns outside the band are already there */
            memcpy(o, s, (size_t)(3 * x0));
        glare_run(s + 3 * x0, o + 3 * x0, c3, band, rv[y], (float)alpha);
        if (o != s)
            memcpy(o + 3 * x1, s + 3 * x1, (size_t)(n - 3 * x1));
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&cols);
    return result;
}

/* ------------------------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------------------------
 * Pixelate: shrink a W x H image to sw x sh (1 <= sw <= W, 1 <= sh <= H) bilinearly, then
 * enlarge it back to W x H with nearest.
 *
 * Shrink: small pixel (u, v) samples the source at ((u + 0.5) W / sw - 0.5, (v + 0.5) H / sh - 0.5),
 * rounded to the nearest 1/128 pixel, half up, in exact integers:
 *   P(u) = floor((128 ((2u + 1) W - sw) + sw) / (2 sw)),  clamped to at most 128 (W - 1),
 *   xi = P >> 7, fx = P & 127, right neighbour xi + 1 (only at the clamp is it past the row, and
 *   there its weight fx is 0),
 * rows alike; each channel is (w00 p00 + w01 p01 + w10 p10 + w11 p11 + 8192) >> 14 with the
 * rotation's weights (w00 = (128-fx)(128-fy), ...). It is computed as a vertical pass over the
 * two source rows (exact sums below 2^15) and a horizontal pass: the same integer sum.
 * Enlarge: output pixel (x, y) takes small pixel (((2x + 1) sw) / (2W), ((2y + 1) sh) / (2H))
 * (floor): the small pixel its centre falls in. Output rows taking the same small row are copies.
 *
 * The AVX2 path does the horizontal pass two small pixels per step (each pixel's (left, right)
 * channel pairs weighed with one multiply-add) and the enlargement four output pixels per byte
 * shuffle: their small pixels advance by 0 or 1 from one to the next (sw <= W), so one of eight
 * shuffles of 16 bytes read at the first one's small pixel places them.
 * ------------------------------------------------------------------------------------------ */

typedef struct {
    int h, w, sh, sw;
    const uint8_t *src;
    uint8_t *dst;
    int16_t *column;  /* 3W values + 8 spare: the vertical pass of one small row */
    uint8_t *small;   /* 3sw bytes + 16 spare: one small row */
    int32_t *px;      /* per small column: 3 xi, then its weights (fx << 16 | 128 - fx) four times */
    int32_t *near;    /* per output column: 3 * its small column */
    int32_t *group;   /* AVX2: per eight output columns, the near of its first and fifth */
    uint8_t *mask;    /* AVX2: per eight output columns, the 32-byte shuffle placing them */
} pixelate_job;

static inline Py_ssize_t shrink_position(Py_ssize_t u, Py_ssize_t size, Py_ssize_t small)
{
    Py_ssize_t p = (128 * ((2 * u + 1) * size - small) + small) / (2 * small);
    return p > 128 * (size - 1) ? 128 * (size - 1) : p;
}

/* The vertical pass of one small row: gy * r0 + fy * r1 per byte of the two source rows. */
static void pixelate_column_c(const pixelate_job *j, const uint8_t *r0, const uint8_t *r1, int gy, int fy, Py_ssize_t i)
{
    for (const Py_ssize_t n = 3 * (Py_ssize_t)j->w; i < n; i++)
        j->column[i] = (int16_t)(gy * r0[i] + fy * r1[i]);
}

static void pixelate_shrink_c(const pixelate_job *j, int u0)
{
    for (int u = u0; u < j->sw; u++) {
        const int32_t *t = j->px + 5 * u;
        const int32_t fx = t[1] >> 16, gx = 128 - fx;
        for (int c = 0; c < 3; c++)
            j->small[3 * u + c] = (uint8_t)((gx * j->column[t[0] + c] + fx * j->column[t[0] + 3 + c] + 8192) >> 14);
    }
}

static void pixelate_enlarge_c(const pixelate_job *j, uint8_t *o, int x0)
{
    for (int x = x0; x < j->w; x++) {
        const uint8_t *q = j->small + j->near[x];
        o[3 * x] = q[0];
        o[3 * x + 1] = q[1];
        o[3 * x + 2] = q[2];
    }
}

#if AUGKIT_X86
/* Which of the eight four-pixel shuffles places output pixels n[0..3]: bit i is set where pixel
 * i + 1 takes the next small pixel. */
static inline int four_pixel_shuffle(const int32_t *n)
{
    return (n[1] != n[0]) | (n[2] != n[1]) << 1 | (n[3] != n[2]) << 2;
}

AVX2_FN static void pixelate_column_avx2(const pixelate_job *j, const uint8_t *r0, const uint8_t *r1, int gy, int fy)
{
    const __m256i g = _mm256_set1_epi16((short)gy), f = _mm256_set1_epi16((short)fy);
    const Py_ssize_t n = 3 * (Py_ssize_t)j->w;
    Py_ssize_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(r0 + i)));
        __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(r1 + i)));
        _mm256_storeu_si256((__m256i *)(j->column + i), _mm256_add_epi16(_mm256_mullo_epi16(a, g), _mm256_mullo_epi16(b, f)));
    }
    pixelate_column_c(j, r0, r1, gy, fy, i);
}

AVX2_FN static void pixelate_shrink_avx2(const pixelate_job *j)
{
    const __m256i half = _mm256_set1_epi32(8192);
    /* eight 16-bit values read at a pixel's left neighbour (L0 L1 L2 R0 R1 R2 . .) arranged as
     * the (left, right) pairs of its three channels, in each lane */
    const __m256i pairs = _mm256_setr_epi8(0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, -1, -1, -1, -1,
                                           0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, -1, -1, -1, -1);
    /* the bytes of four packed pixels (four per pixel, the fourth unused) */
    const __m128i keep12 = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    int u = 0;
    /* four small pixels per step: pixels u and u+2 in the lanes of one register, u+1 and u+3 of
     * another, each channel pair weighed with one multiply-add */
    for (; u + 4 <= j->sw; u += 4) {
        const int32_t *t = j->px + 5 * u;
        __m256i a = _mm256_shuffle_epi8(load_lanes((const uint8_t *)(j->column + t[0]), (const uint8_t *)(j->column + t[10])), pairs);
        __m256i b = _mm256_shuffle_epi8(load_lanes((const uint8_t *)(j->column + t[5]), (const uint8_t *)(j->column + t[15])), pairs);
        __m256i wa = load_lanes((const uint8_t *)(t + 1), (const uint8_t *)(t + 11));
        __m256i wb = load_lanes((const uint8_t *)(t + 6), (const uint8_t *)(t + 16));
        __m256i va = _mm256_srli_epi32(_mm256_add_epi32(_mm256_madd_epi16(a, wa), half), 14);
        __m256i vb = _mm256_srli_epi32(_mm256_add_epi32(_mm256_madd_epi16(b, wb), half), 14);
        /* per lane: pixel u (or u+2), then u+1 (or u+3), four bytes each */
        __m256i v = _mm256_packus_epi16(_mm256_packs_epi32(va, vb), _mm256_setzero_si256());
        __m128i q = _mm256_castsi256_si128(_mm256_permute4x64_epi64(v, 0x08));
        /* 16 bytes written, 12 kept: the next step (or the tail) rewrites the rest */
        _mm_storeu_si128((__m128i *)(j->small + 3 * u), _mm_shuffle_epi8(q, keep12));
    }
    pixelate_shrink_c(j, u);
}

AVX2_FN static void pixelate_enlarge_avx2(const pixelate_job *j, uint8_t *o, const __m128i *shuffles)
{
    int x = 0;
    /* eight pixels per step from the group tables: two 16-byte runs of the small row in the two
     * lanes, one shuffle; 28 bytes stored, 24 kept (x + 10 <= W keeps the store inside the row,
     * and the next step or the tail rewrites the rest) */
    for (int g = 0; x + 10 <= j->w; x += 8, g++) {
        const __m256i s = load_lanes(j->small + j->group[2 * g], j->small + j->group[2 * g + 1]);
        const __m256i v = _mm256_shuffle_epi8(s, _mm256_loadu_si256((const __m256i *)(j->mask + 32 * g)));
        _mm_storeu_si128((__m128i *)(o + 3 * x), _mm256_castsi256_si128(v));
        _mm_storeu_si128((__m128i *)(o + 3 * x + 12), _mm256_extracti128_si256(v, 1));
    }
    /* 16 bytes stored, 12 kept; x + 6 <= W keeps the store inside the row */
    for (; x + 6 <= j->w; x += 4) {
        const int32_t *n = j->near + x;
        const __m128i s = _mm_loadu_si128((const __m128i *)(j->small + n[0]));
        const __m128i place = _mm_load_si128(shuffles + four_pixel_shuffle(n));
        _mm_storeu_si128((__m128i *)(o + 3 * x), _mm_shuffle_epi8(s, place));
    }
    pixelate_enlarge_c(j, o, x);
}
#endif

static void pixelate_rows(const pixelate_job *j)
{
    const Py_ssize_t n = (Py_ssize_t)j->w * 3;
#if AUGKIT_X86
    /* shuffle k places four pixels whose small pixels step by bit i of k between pixel i and i + 1 */
    __m128i shuffles[8];
    for (int k = 0; k < 8; k++) {
        int8_t m[16];
        int at = 0;
        for (int i = 0; i < 4; i++) {
            if (i > 0 && (k >> (i - 1)) & 1) at += 3;
            for (int c = 0; c < 3; c++) m[3 * i + c] = (int8_t)(at + c);
        }
        for (int i = 12; i < 16; i++) m[i] = -1;
        memcpy(&shuffles[k], m, 16);
    }
    /* the enlargement's steps of eight pixels: where each half reads and which shuffle places it
     * (the same for every row) */
    for (int g = 0; use_simd && 8 * g + 10 <= j->w; g++) {
        for (int half = 0; half < 2; half++) {
            const int32_t *n = j->near + 8 * g + 4 * half;
            j->group[2 * g + half] = n[0];
            memcpy(j->mask + 32 * g + 16 * half, &shuffles[four_pixel_shuffle(n)], 16);
        }
    }
#endif
    Py_ssize_t last = -1;
    for (Py_ssize_t y = 0; y < j->h; y++) {
        uint8_t *o = j->dst + y * n;
        Py_ssize_t v = ((2 * y + 1) * j->sh) / (2 * (Py_ssize_t)j->h);
        if (v == last) {
            memcpy(o, o - n, (size_t)n);
            continue;
        }
        last = v;
        Py_ssize_t p = shrink_position(v, j->h, j->sh), yi = p >> 7, y1 = yi + 1 < j->h ? yi + 1 : j->h - 1;
        const int fy = (int)(p & 127), gy = 128 - fy;
        const uint8_t *r0 = j->src + yi * n, *r1 = j->src + y1 * n;
#if AUGKIT_X86
        if (use_simd) {
            pixelate_column_avx2(j, r0, r1, gy, fy);
            pixelate_shrink_avx2(j);
            pixelate_enlarge_avx2(j, o, shuffles);
            continue;
        }
#endif
        pixelate_column_c(j, r0, r1, gy, fy, 0);
        pixelate_shrink_c(j, 0);
        pixelate_enlarge_c(j, o, 0);
    }
}

static PyObject *k_pixelate(PyObject *self, PyObject *args)
{
    Py_buffer src, dst;
    int h, w, sh, sw;
    if (!PyArg_ParseTuple(args, "y*iiw*ii", &src, &h, &w, &dst, &sh, &sw)) return NULL;
    PyObject *result = NULL;
    if (h < 1 || w < 1 || sh < 1 || sw < 1 || sh > h || sw > w || h > (1 << 24) || w > (1 << 24)
        || src.len < (Py_ssize_t)h * w * 3 || dst.len < (Py_ssize_t)h * w * 3) {
        PyErr_SetString(PyExc_ValueError, "pixelate: buffers must hold H x W x 3, with 1 <= small size <= size");
        goto done;
    }
    pixelate_job j = {h, w, sh, sw, (const uint8_t *)src.buf, (uint8_t *)dst.buf, NULL, NULL, NULL, NULL, NULL, NULL};
    j.column = (int16_t *)calloc((size_t)w * 3 + 8, sizeof(int16_t));
    j.small = (uint8_t *)calloc((size_t)sw * 3 + 16, 1);
    j.px = (int32_t *)malloc(sizeof(int32_t) * 5 * (size_t)sw);
    j.near = (int32_t *)malloc(sizeof(int32_t) * (size_t)w);
    j.group = (int32_t *)malloc(sizeof(int32_t) * 2 * ((size_t)w / 8 + 1));
    j.mask = (uint8_t *)malloc(32 * ((size_t)w / 8 + 1));
    if (!j.column || !j.small || !j.px || !j.near || !j.group || !j.mask) {
        PyErr_NoMemory();
    } else {
        /* Both tables step their numerators by a constant, so the quotients are carried along
         * (quotient and remainder of the step added, one carry) instead of divided per entry:
         * the same integers as shrink_position() and ((2x + 1) sw) / (2W). */
        const Py_ssize_t pmax = 128 * ((Py_ssize_t)w - 1);
        Py_ssize_t pd = 2 * (Py_ssize_t)sw, pn = 128 * ((Py_ssize_t)w - sw) + sw;
        Py_ssize_t pq = pn / pd, pr = pn % pd, sq = 256 * (Py_ssize_t)w / pd, sr = 256 * (Py_ssize_t)w % pd;
        for (Py_ssize_t u = 0; u < sw; u++) {
            Py_ssize_t p = pq > pmax ? pmax : pq, xi = p >> 7;
            const int32_t fx = (int32_t)(p & 127);
            j.px[5 * u] = (int32_t)(3 * xi);
            for (int k = 1; k < 5; k++) j.px[5 * u + k] = fx << 16 | (128 - fx);
            pq += sq;
            pr += sr;
            if (pr >= pd) {
                pr -= pd;
                pq++;
            }
        }
        Py_ssize_t nd = 2 * (Py_ssize_t)w, nq = sw / nd, nr = sw % nd, tq = 2 * (Py_ssize_t)sw / nd, tr = 2 * (Py_ssize_t)sw % nd;
        for (Py_ssize_t x = 0; x < w; x++) {
            j.near[x] = (int32_t)(3 * nq);
            nq += tq;
            nr += tr;
            if (nr >= nd) {
                nr -= nd;
                nq++;
            }
        }
        Py_BEGIN_ALLOW_THREADS
        pixelate_rows(&j);
        Py_END_ALLOW_THREADS
        result = Py_None;
        Py_INCREF(result);
    }
    free(j.column);
    free(j.small);
    free(j.px);
    free(j.near);
    free(j.group);
    free(j.mask);
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    return result;
}

static PyObject *k_set_simd(PyObject *self, PyObject *arg)
{
    int want = PyObject_IsTrue(arg);
    if (want < 0) return NULL;
    int before = use_simd;
#if AUGKIT_X86
    use_simd = want && __builtin_cpu_supports("avx2");
#else
    use_simd = 0;
#endif
    return PyBool_FromLong(before);
}

static PyObject *k_simd(PyObject *self, PyObject *unused) { return PyUnicode_FromString(use_simd ? "avx2" : "c"); }

static PyMethodDef methods[] = {
    {"affine", k_affine, METH_VARARGS, "affine(src, sh, sw, dst, dh, dw, m): bilinear sampling of an affine map"},
    {"levels", k_levels, METH_VARARGS, "levels(src, dst, a, b): clamp((v*a + b + 32768) >> 16)"},
    {"noise", k_noise, METH_VARARGS, "noise(src, dst, normals, start, sigma): clamp(rint(v + sigma*n))"},
    {"filter", k_filter, METH_VARARGS, "filter(src, h, w, radius, dst, taps): sparse 8-bit-weight filter, replicated border"},
    {"shift_rows", k_shift_rows, METH_VARARGS, "shift_rows(src, h, w, dst, dw, shifts): per-row shift in 1/128 px"},
    {"glare", k_glare, METH_VARARGS, "glare(src, h, w, dst, rows, cols, x0, x1, alpha): saturating weighted add"},
    {"pixelate", k_pixelate, METH_VARARGS, "pixelate(src, h, w, dst, sh, sw): bilinear shrink, nearest enlarge"},
    {"set_simd", k_set_simd, METH_O, "set_simd(flag) -> previous: use the AVX2 paths where the CPU has them"},
    {"simd", k_simd, METH_NOARGS, "simd() -> 'avx2' or 'c': the paths in use"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, methods};

PyMODINIT_FUNC PyInit__kernels(void)
{
#if AUGKIT_X86
    __builtin_cpu_init();
    use_simd = __builtin_cpu_supports("avx2");
#endif
    return PyModule_Create(&module);
}
