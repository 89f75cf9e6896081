"""The compiled kernels: each one's AVX2 and portable C paths give the same bytes, and both
equal the formula augkit/_kernels.c states, written here in plain numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from augkit import kernels

from helpers import bilinear_blend, kernel_positions

RNG = np.random.default_rng(20261121)


@pytest.fixture
def both_paths():
    """Run a kernel call on each available path; returns a function taking a thunk."""
    def run(thunk):
        results = []
        for simd in (True, False):
            before = kernels.set_simd(simd)
            try:
                results.append(thunk())
            finally:
                kernels.set_simd(before)
        return results
    return run


def affine_reference(src: np.ndarray, size: tuple[int, int], m: tuple[float, ...]) -> np.ndarray:
    """Bilinear sampling at 1/128-pixel positions, each neighbour clamped into the image."""
    sh, sw = src.shape[:2]
    X, Y = kernel_positions(m, size)
    xi, yi = X >> 16, Y >> 16
    x0, x1 = np.clip(xi, 0, sw - 1), np.clip(xi + 1, 0, sw - 1)
    y0, y1 = np.clip(yi, 0, sh - 1), np.clip(yi + 1, 0, sh - 1)
    s = src.astype(np.int64)
    return bilinear_blend(X, Y, s[y0, x0], s[y0, x1], s[y1, x0], s[y1, x1]).reshape(size[1], size[0], 3)


def _random_map(trial: int, sh: int, sw: int) -> tuple[float, ...]:
    # mostly text-line rotations (the fast path), some steep, mirrored or scaled maps (the rest)
    angle = math.radians(RNG.uniform(-4, 4) if trial % 4 else RNG.uniform(-180, 180))
    c, s = math.cos(angle), math.sin(angle)
    scale = RNG.uniform(0.4, 1.8) if trial % 5 == 0 else 1.0
    mirror = -1.0 if trial % 7 == 0 else 1.0
    return (mirror * c * scale, s, RNG.uniform(-6, sw / 2), -s, c * scale, RNG.uniform(-6, sh / 2))


def test_affine_paths_equal_the_formula(both_paths):
    for trial in range(120):
        sh, sw = int(RNG.integers(1, 70)), int(RNG.integers(1, 420))
        src = RNG.integers(0, 256, (sh, sw, 3), dtype=np.uint8)
        size = (int(RNG.integers(0, 460)), int(RNG.integers(0, 80)))  # (w, h), empty ones included
        m = _random_map(trial, sh, sw)
        fast, portable = both_paths(lambda: kernels.affine(src, size, m))
        expected = affine_reference(src, size, m)
        assert np.array_equal(fast, portable), (trial, sh, sw, size, m)
        assert np.array_equal(fast, expected), (trial, sh, sw, size, m)


def test_affine_far_outside_the_image_is_the_nearest_edge(both_paths):
    """Canvas areas far beyond every edge (the grown corners of a rotation, and further) take
    the clamped neighbours on both paths."""
    src = RNG.integers(0, 256, (9, 40, 3), dtype=np.uint8)
    a = math.radians(2.5)
    for dx, dy in ((-1000.0, 0.0), (1000.0, 0.0), (0.0, -500.0), (0.0, 500.0), (-30.0, -30.0), (25.0, 12.0)):
        m = (math.cos(a), math.sin(a), dx, -math.sin(a), math.cos(a), dy)
        fast, portable = both_paths(lambda: kernels.affine(src, (120, 30), m))
        assert np.array_equal(fast, portable) and np.array_equal(fast, affine_reference(src, (120, 30), m)), (dx, dy)
    left = kernels.affine(src, (16, 9), (1, 0, -1000.0, 0, 1, 0))
    assert np.array_equal(left, np.repeat(src[:, :1], 16, axis=1))


def _guarded(nbytes: int) -> tuple[np.ndarray, np.ndarray]:
    """An output buffer of nbytes followed by 64 guard bytes: (whole, the output part)."""
    whole = np.full(nbytes + 64, 0xA5, np.uint8)
    return whole, whole[:nbytes]


def test_affine_every_narrow_width_and_nothing_written_past_the_image(both_paths):
    """Widths 1 to 40 take every ending of a row (no step, one step ending at the last pixel, a
    last step reaching back over written pixels, the short store near the end) and edge runs at
    both sides; the kernel writes exactly the image's bytes and nothing after them."""
    src = RNG.integers(0, 256, (23, 37, 3), dtype=np.uint8)
    for dw in range(1, 41):
        for angle in (-2.7, 0.8):
            a = math.radians(angle)
            m = (math.cos(a), -math.sin(a), RNG.uniform(-3, 2), math.sin(a), math.cos(a), RNG.uniform(-2, 2))
            dh = 5

            def run():
                whole, out = _guarded(dh * dw * 3)
                kernels._kernels.affine(src, 23, 37, out, dh, dw, m)
                return whole

            fast, portable = both_paths(run)
            assert (fast[-64:] == 0xA5).all() and (portable[-64:] == 0xA5).all(), (dw, angle)
            expected = affine_reference(src, (dw, dh), m).reshape(-1)
            assert np.array_equal(fast[:-64], expected) and np.array_equal(portable[:-64], expected), (dw, angle)


def test_affine_identity_and_half_pixel_shift():
    src = RNG.integers(0, 256, (20, 50, 3), dtype=np.uint8)
    assert np.array_equal(kernels.affine(src, (47, 18), (1, 0, 0, 0, 1, 0)), src[:18, :47])
    half = kernels.affine(src, (40, 10), (1, 0, 0.5, 0, 1, 0))
    expected = (src[:10, :40].astype(int) * 8192 + src[:10, 1:41].astype(int) * 8192 + 8192) >> 14
    assert np.array_equal(half, expected)


def test_levels_paths_equal_the_formula(both_paths):
    for n in (0, 1, 15, 16, 17, 33, 1000, 70_001):
        src = RNG.integers(0, 256, n, dtype=np.uint8)
        for alpha, beta in ((1.0, 0.0), (0.8, -0.2), (1.2, 0.2), (1.137, -0.0731), (0.0, 0.5), (3.0, -1.0)):
            a, b = round(alpha * 65536), round(beta * 255 * 65536)
            expected = np.clip((src.astype(np.int64) * a + b + 32768) >> 16, 0, 255)
            fast, portable = both_paths(lambda: kernels.levels(src, alpha, beta))
            assert np.array_equal(fast, portable) and np.array_equal(fast, expected), (n, alpha, beta)
    identity = RNG.integers(0, 256, 999, dtype=np.uint8)
    assert np.array_equal(kernels.levels(identity, 1.0, 0.0), identity)


def test_noise_paths_equal_the_formula(both_paths):
    table = np.rint(RNG.standard_normal(200_000) * 4096).astype(np.int16)
    for n in (0, 1, 15, 16, 17, 1001, 70_003):
        src = RNG.integers(0, 256, n, dtype=np.uint8)
        start = int(RNG.integers(0, len(table) - n + 1))
        for sigma in (0.0, 3.3, 8.366, 40.0):
            s = np.float32(sigma) / np.float32(4096)
            expected = np.clip(np.rint(src.astype(np.float32) + s * table[start:start + n].astype(np.float32)), 0, 255)
            fast, portable = both_paths(lambda: kernels.add_noise(src, table, start, sigma))
            assert np.array_equal(fast, portable) and np.array_equal(fast, expected), (n, sigma)


def test_noise_takes_normals_in_units_of_1_4096_only():
    with pytest.raises(ValueError, match="int16"):
        kernels.add_noise(np.zeros(4, np.uint8), np.zeros(8, np.float32), 0, 1.0)


def test_noise_rounds_half_to_even():
    src = np.array([10, 10, 11, 11, 0, 255], np.uint8)
    normals = np.array([2048, -2048, 2048, -2048, -2048, 2048], np.int16)  # +-0.5 in units of 1/4096
    assert kernels.add_noise(src, normals, 0, 1.0).tolist() == [10, 10, 12, 10, 0, 255]


def filter_reference(image: np.ndarray, taps: np.ndarray, r: int) -> np.ndarray:
    h, w = image.shape[:2]
    padded = np.pad(image, ((r, r), (r, r), (0, 0)), mode="edge").astype(np.int64)
    acc = np.full(image.shape, 128, np.int64)
    for dy, dx, q in taps:
        acc += int(q) * padded[dy:dy + h, dx:dx + w]
    return (acc >> 8).astype(np.uint8)


# Sizes around every case of the filter's column split: images narrower or shorter than the
# kernel, rows under one 32-byte block (the C path), narrow rows (one padded strip), and wide
# ones (edge strips around image rows, runs that are not whole blocks).
FILTER_SIZES = [(1, 1), (1, 2), (2, 1), (1, 11), (13, 1), (3, 10), (4, 11), (5, 12), (2, 31), (6, 33),
                (7, 43), (1, 150), (9, 77), (3, 300)]


def _filter_image(h: int, w: int) -> np.ndarray:
    # random bytes, with whole rows and columns at 0 and 255 (the saturating multiply-add's worst case)
    image = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
    image[RNG.random(h) < 0.3] = 255
    image[:, RNG.random(w) < 0.2] = RNG.choice([0, 255])
    return image


def test_filter_paths_equal_the_formula(both_paths):
    from augkit.stages.blur import line_taps

    sizes = FILTER_SIZES + [(int(RNG.integers(1, 40)), int(RNG.integers(1, 300))) for _ in range(30)]
    for trial, (h, w) in enumerate(sizes):
        image = _filter_image(h, w)
        size = int(RNG.choice([3, 5, 7, 9, 11, 15]))  # radii 1 to 7
        taps = line_taps(size, round(float(RNG.uniform(0, 180)), 1) if trial % 3 else float(RNG.uniform(0, 180)))
        fast, portable = both_paths(lambda: kernels.filter_taps(image, taps, size // 2))
        expected = filter_reference(image, taps, size // 2)
        assert np.array_equal(fast, portable) and np.array_equal(fast, expected), (trial, h, w, size)


@pytest.mark.parametrize("weights", [
    [200, 56], [128, 128], [127, 2, 127], [256], [128, 64, 64], [100, 28, 100, 28], [64] * 4,
    [1] * 200 + [56], [0, 0, 256, 0], [127, 1, 127, 1], [120, 9, 127], [128, 0, 128, 0]],
    ids=["200", "128+128", "127+2+127", "one-tap", "128+64+64", "sums-of-128", "four-64", "201-taps",
         "zero-weights", "127+1", "odd-one-out", "128+0"])
def test_filter_equals_the_formula_for_taps_that_cannot_all_pair(both_paths, weights):
    # The AVX2 path pairs taps only while q_a, q_b <= 127 and q_a + q_b <= 128 (its multiply-add
    # saturates at 32767); these weights leave taps alone or pair them right at the limit.
    for r in (0, 1, 3, 7):
        taps = np.array([[RNG.integers(0, 2 * r + 1), RNG.integers(0, 2 * r + 1), q] for q in weights], np.int32)
        for h, w in FILTER_SIZES[::2] + [(5, 120)]:
            image = _filter_image(h, w)
            fast, portable = both_paths(lambda: kernels.filter_taps(image, taps, r))
            expected = filter_reference(image, taps, r)
            assert np.array_equal(fast, portable) and np.array_equal(fast, expected), (weights, r, h, w)


def test_filter_taps_on_one_side_and_far_from_the_centre(both_paths):
    # taps all right or all left of the centre (one edge strip or none), in few rows
    for r, columns in ((3, (3, 7)), (3, (0, 4)), (5, (10, 11)), (5, (0, 1)), (2, (2, 3))):
        q = RNG.multinomial(256, np.ones(5) / 5)
        taps = np.stack([RNG.integers(0, 2 * r + 1, 5), RNG.integers(*columns, 5), q], axis=1).astype(np.int32)
        for h, w in ((3, 40), (8, 130), (2, 12)):
            image = _filter_image(h, w)
            fast, portable = both_paths(lambda: kernels.filter_taps(image, taps, r))
            expected = filter_reference(image, taps, r)
            assert np.array_equal(fast, portable) and np.array_equal(fast, expected), (r, columns, h, w)


def test_filter_keeps_flat_images_flat():
    from augkit.stages.blur import line_taps

    flat = np.full((30, 100, 3), 173, np.uint8)
    for size in (3, 5, 7):
        for angle in (0.0, 33.3, 90.0, 123.4):
            assert np.array_equal(kernels.filter_taps(flat, line_taps(size, angle), size // 2), flat)


@pytest.mark.parametrize("size", [3, 5, 7, 9])
def test_quantised_line_kernel_sums_to_256_and_stays_close(size):
    from augkit.stages.blur import line_kernel, line_taps

    for angle in (0.0, 12.3, 45.0, 90.0, 137.9, 179.9):
        kernel = line_kernel(size, angle)
        taps = line_taps(size, angle)
        assert taps[:, 2].sum() == 256 and (taps[:, 2] > 0).all()
        dense = np.zeros((size, size))
        dense[taps[:, 0], taps[:, 1]] = taps[:, 2] / 256
        assert np.abs(dense - kernel).max() <= 1 / 256
        assert set(zip(*np.nonzero(dense))) == set(zip(*np.nonzero(kernel)))


@pytest.mark.parametrize("call", [
    lambda: kernels._kernels.affine(np.zeros((2, 2, 3), np.uint8), 0, 2, np.zeros(12, np.uint8), 2, 2, (1, 0, 0, 0, 1, 0)),
    lambda: kernels._kernels.affine(np.zeros((4, 4, 3), np.uint8), 4, 4, np.zeros(11, np.uint8), 2, 2, (1, 0, 0, 0, 1, 0)),
    lambda: kernels._kernels.affine(np.zeros((4, 4, 3), np.uint8), 5, 4, np.zeros(12, np.uint8), 2, 2, (1, 0, 0, 0, 1, 0)),
    lambda: kernels._kernels.affine(np.zeros((4, 4, 3), np.uint8), 4, 4, np.zeros(12, np.uint8), 2, 2, (math.nan, 0, 0, 0, 1, 0)),
    lambda: kernels._kernels.levels(np.zeros(10, np.uint8), np.zeros(9, np.uint8), 65536, 0),
    lambda: kernels._kernels.noise(np.zeros(10, np.uint8), np.zeros(10, np.uint8), np.zeros(12, np.int16), 3, 1.0),
    lambda: kernels._kernels.filter(np.zeros((3, 3, 3), np.uint8), 3, 3, 1, np.zeros(27, np.uint8),
                                    np.array([[0, 0, 255]], np.int32)),
    lambda: kernels._kernels.filter(np.zeros((3, 3, 3), np.uint8), 3, 3, 1, np.zeros(27, np.uint8),
                                    np.array([[3, 0, 256]], np.int32)),
    lambda: kernels._kernels.filter(np.zeros((3, 3, 3), np.uint8), 3, 3, 1, np.zeros(27, np.uint8),
                                    np.array([[0, 3, 256]], np.int32)),
    lambda: kernels._kernels.filter(np.zeros((3, 3, 3), np.uint8), 3, 3, 1, np.zeros(27, np.uint8),
                                    np.array([[0, -1, 256]], np.int32)),
    lambda: kernels._kernels.filter(np.zeros((3, 3, 3), np.uint8), 3, 3, 1, np.zeros(27, np.uint8),
                                    np.array([[0, 0, 300], [1, 1, -44]], np.int32)),
    lambda: kernels._kernels.filter(np.zeros((3, 3, 3), np.uint8), 3, 4, 1, np.zeros(36, np.uint8),
                                    np.array([[0, 0, 256]], np.int32)),
    lambda: kernels._kernels.filter(np.zeros((3, 3, 3), np.uint8), 3, 3, 1, np.zeros(26, np.uint8),
                                    np.array([[0, 0, 256]], np.int32)),
    lambda: kernels._kernels.filter(np.zeros((3, 3, 3), np.uint8), 3, 3, -1, np.zeros(27, np.uint8),
                                    np.array([[0, 0, 256]], np.int32)),
    lambda: kernels._kernels.filter(np.zeros((3, 3, 3), np.uint8), 3, 3, 1, np.zeros(27, np.uint8),
                                    np.array([0, 0, 256, 1], np.int32)),
], ids=["source-too-small", "output-too-small", "shape-beyond-buffer", "nan-matrix", "levels-short-output",
        "noise-normals-too-few", "filter-sum-not-256", "filter-tap-below", "filter-tap-right",
        "filter-tap-left", "filter-negative-weight", "filter-source-too-small", "filter-output-too-small",
        "filter-negative-radius", "filter-taps-not-rows"])
def test_kernels_refuse_what_would_read_or_write_out_of_bounds(call):
    with pytest.raises(ValueError):
        call()


def test_filter_refusals_say_what_is_wrong():
    image, out = np.zeros((3, 3, 3), np.uint8), np.zeros(27, np.uint8)
    with pytest.raises(ValueError, match="sum to 255, not 256"):
        kernels._kernels.filter(image, 3, 3, 1, out, np.array([[0, 0, 255]], np.int32))
    with pytest.raises(ValueError, match=r"tap \(0, 3, 256\) outside 0 <= dy, dx <= 2 \* radius = 2"):
        kernels._kernels.filter(image, 3, 3, 1, out, np.array([[0, 3, 256]], np.int32))
    with pytest.raises(ValueError, match="smaller than 3 x 4 x 3"):
        kernels._kernels.filter(image, 3, 4, 1, np.zeros(36, np.uint8), np.array([[0, 0, 256]], np.int32))


def test_read_only_input_and_non_contiguous_views_work():
    image = RNG.integers(0, 256, (20, 60, 3), dtype=np.uint8)
    image.setflags(write=False)
    assert kernels.levels(image, 1.0, 0.0).tolist() == image.tolist()
    view = np.asarray(RNG.integers(0, 256, (20, 120, 3), dtype=np.uint8))[:, ::2]
    assert np.array_equal(kernels.levels(kernels.bgr(view), 1.0, 0.0), view)
    with pytest.raises(ValueError):  # a strided view is not silently read as if contiguous
        kernels._kernels.levels(view, np.empty_like(view), 65536, 0)


def test_bgr_converts_grey_and_alpha():
    grey = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
    assert kernels.bgr(grey).shape == (5, 7, 3) and np.array_equal(kernels.bgr(grey)[:, :, 2], grey)
    rgba = RNG.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    assert np.array_equal(kernels.bgr(rgba), rgba[:, :, :3])
    with pytest.raises(ValueError):
        kernels.bgr(np.zeros((5, 7, 3), np.float32))


def test_simd_switch_reports_the_path():
    before = kernels.set_simd(False)
    try:
        assert kernels.simd() == "c"
        kernels.set_simd(True)
        assert kernels.simd() in ("avx2", "c")  # avx2 where the CPU has it
    finally:
        kernels.set_simd(before)


def shift_rows_reference(image: np.ndarray, steps: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    x = np.arange(width, dtype=np.int64)[None, :]
    P = 128 * x - steps.astype(np.int64)[:, None]
    xi, f = P >> 7, (P & 127)[..., None]
    rows = np.arange(h)[:, None]
    s = image.astype(np.int64)
    left, right = s[rows, np.clip(xi, 0, w - 1)], s[rows, np.clip(xi + 1, 0, w - 1)]
    return ((128 - f) * left + f * right + 64 >> 7).astype(np.uint8)


def test_shift_rows_equals_the_formula():
    for trial in range(60):
        h, w = int(RNG.integers(1, 60)), int(RNG.integers(1, 300))
        image = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
        shifts = RNG.uniform(-w - 5, w + 5, h) if trial % 3 == 0 else RNG.uniform(0, 30, h)
        width = int(RNG.integers(0, w + 40))
        out = kernels.shift_rows(image, shifts, width)
        steps = np.rint(shifts * 128).astype(np.int64)
        assert np.array_equal(out, shift_rows_reference(image, steps, width)), trial
    # whole-pixel shifts move pixels exactly; the uncovered left edge repeats the first pixel
    image = RNG.integers(0, 256, (4, 20, 3), dtype=np.uint8)
    out = kernels.shift_rows(image, np.array([0.0, 1.0, 2.0, 3.0]), 23)
    for y in range(4):
        assert np.array_equal(out[y, y:y + 20], image[y])
        assert (out[y, :y] == image[y, 0]).all() and (out[y, y + 20:] == image[y, -1]).all()


def test_glare_equals_the_formula():
    for trial in range(40):
        h, w = int(RNG.integers(1, 60)), int(RNG.integers(1, 400))
        image = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
        x0 = int(RNG.integers(0, w))
        x1 = int(RNG.integers(x0, w + 1))
        rows = (RNG.uniform(0, 1, h) * 255).astype(np.float32)
        cols = RNG.uniform(0, 1, x1 - x0).astype(np.float32)
        alpha = float(RNG.uniform(0.3, 1.2))
        out = kernels.add_glare(image, rows, np.repeat(cols, 3), x0, alpha)
        weight = np.zeros((h, w), np.float32)
        weight[:, x0:x1] = np.clip(np.rint((rows[:, None] * cols[None, :]) * np.float32(alpha)), 0, 255)
        expected = np.minimum(image.astype(np.int64) + weight[..., None].astype(np.int64), 255)
        assert np.array_equal(out, expected), trial


@pytest.mark.parametrize("call", [
    lambda: kernels._kernels.shift_rows(np.zeros((2, 4, 3), np.uint8), 2, 4, np.zeros(24, np.uint8), 4,
                                        np.zeros(1, np.int32)),
    lambda: kernels._kernels.shift_rows(np.zeros((2, 4, 3), np.uint8), 2, 4, np.zeros(23, np.uint8), 4,
                                        np.zeros(2, np.int32)),
    lambda: kernels._kernels.glare(np.zeros((2, 4, 3), np.uint8), 2, 4, np.zeros(24, np.uint8),
                                   np.zeros(2, np.float32), np.zeros(9, np.float32), 2, 5, 0.5),
    lambda: kernels._kernels.glare(np.zeros((2, 4, 3), np.uint8), 2, 4, np.zeros(24, np.uint8),
                                   np.zeros(1, np.float32), np.zeros(6, np.float32), 0, 2, 0.5),
    lambda: kernels._kernels.glare(np.zeros((2, 4, 3), np.uint8), 2, 4, np.zeros(24, np.uint8),
                                   np.zeros(2, np.float32), np.zeros(2, np.float32), 0, 2, 0.5),
], ids=["shift-count", "shift-output", "glare-band-beyond", "glare-rows", "glare-cols-not-per-byte"])
def test_row_and_glare_kernels_refuse_bad_buffers(call):
    with pytest.raises(ValueError):
        call()


def test_quantising_a_stack_equals_one_by_one():
    stack = RNG.uniform(0, 1, (50, 5, 5)) * (RNG.uniform(0, 1, (50, 5, 5)) > 0.5)
    stack[0] = 0
    stack[0, 2, 2] = 3.0  # a single tap takes all 256
    together = kernels.quantise_kernels(stack)
    for kernel, taps in zip(stack, together):
        dense = np.zeros(25, np.int64)
        scaled = kernel.ravel() * 256 / kernel.sum()
        floor = np.floor(scaled).astype(np.int64)
        extra = 256 - floor.sum()
        order = sorted(range(25), key=lambda i: (-(scaled[i] - floor[i]), i))
        dense[:] = floor
        dense[order[:extra]] += 1
        expected = [(i // 5, i % 5, dense[i]) for i in range(25) if dense[i]]
        assert [tuple(t) for t in taps.tolist()] == [tuple(map(int, e)) for e in expected]
    assert together[0].tolist() == [[2, 2, 256]]


def pixelate_reference(src: np.ndarray, small_w: int, small_h: int) -> np.ndarray:
    """The definition in plain numpy: shrink positions ((u + 0.5) W / sw - 0.5) to 1/128 pixel
    (half up, at most W - 1), bilinear with the rotation's weights, right/lower neighbours clamped;
    enlarge with nearest, pixel x taking small pixel floor((x + 0.5) sw / W)."""
    h, w = src.shape[:2]

    def positions(small: int, size: int) -> np.ndarray:
        u = np.arange(small, dtype=np.int64)
        return np.minimum((128 * ((2 * u + 1) * size - small) + small) // (2 * small), 128 * (size - 1))

    px, py = positions(small_w, w), positions(small_h, h)
    X, Y = np.broadcast_to(px[None, :] << 9, (small_h, small_w)), np.broadcast_to(py[:, None] << 9, (small_h, small_w))
    x0, y0 = X >> 16, Y >> 16
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    s = src.astype(np.int64)
    small = bilinear_blend(X, Y, s[y0, x0], s[y0, x1], s[y1, x0], s[y1, x1])
    rows = (2 * np.arange(h) + 1) * small_h // (2 * h)
    cols = (2 * np.arange(w) + 1) * small_w // (2 * w)
    return small[rows][:, cols]


def test_pixelate_paths_equal_the_formula(both_paths):
    for trial in range(150):
        h, w = int(RNG.integers(1, 70)), int(RNG.integers(1, 500))
        src = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if trial % 3 == 0:  # smooth content as well as noise
            src = np.sort(src, axis=1)
        scale = RNG.uniform(0.05, 1.0) if trial % 10 else 1.0
        sw, sh = max(1, math.floor(w * scale)), max(1, math.floor(h * scale))
        fast, portable = both_paths(lambda: kernels.pixelate(src, sw, sh))
        assert np.array_equal(fast, portable), (trial, h, w, sw, sh)
        assert np.array_equal(fast, pixelate_reference(src, sw, sh)), (trial, h, w, sw, sh)


def test_pixelate_every_narrow_width_and_nothing_written_past_the_image(both_paths):
    """Widths 1 to 40 take every ending of the enlargement's steps of eight and four pixels; the
    kernel writes exactly the image's bytes and nothing after them."""
    for w in range(1, 41):
        h = 4
        src = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
        # the last row is enlarged (sh = h) or a copy of the row above (sh < h)
        for sw, sh in [(x, y) for x in sorted({1, max(1, w // 3), max(1, (2 * w) // 3), w}) for y in (2, h)]:

            def run():
                whole, out = _guarded(h * w * 3)
                kernels._kernels.pixelate(src, h, w, out, sh, sw)
                return whole

            fast, portable = both_paths(run)
            assert (fast[-64:] == 0xA5).all() and (portable[-64:] == 0xA5).all(), (w, sw, sh)
            expected = pixelate_reference(src, sw, sh).reshape(-1)
            assert np.array_equal(fast[:-64], expected) and np.array_equal(portable[:-64], expected), (w, sw, sh)


def test_pixelate_at_full_size_is_the_identity_and_one_pixel_is_flat():
    src = RNG.integers(0, 256, (31, 97, 3), dtype=np.uint8)
    assert np.array_equal(kernels.pixelate(src, 97, 31), src)
    flat = kernels.pixelate(src, 1, 1)
    assert (flat == flat[0, 0]).all()


@pytest.mark.parametrize("args", [
    (np.zeros((2, 4, 3), np.uint8), 2, 4, np.zeros(23, np.uint8), 1, 1),
    (np.zeros((2, 4, 3), np.uint8), 2, 4, np.zeros(24, np.uint8), 3, 1),
    (np.zeros((2, 4, 3), np.uint8), 2, 4, np.zeros(24, np.uint8), 1, 0),
    (np.zeros((2, 4, 3), np.uint8), 3, 4, np.zeros(36, np.uint8), 1, 1),
], ids=["output-short", "small-taller", "small-empty", "source-short"])
def test_pixelate_refuses_bad_sizes(args):
    with pytest.raises(ValueError):
        kernels._kernels.pixelate(*args)
