"""Every registered stage passes the same invariants; then each stage's own definition."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from augkit.stages import STAGES, VariantContext
from augkit.stages.geometry import rotated_size, warp_shift
from augkit.stages.glare import glare_profiles, section_box

from conftest import text_line
from helpers import bilinear_blend, kernel_positions

SHAPES = [(48, 320), (64, 640), (32, 7), (1, 1)]
CTX = VariantContext(variant=4, index=0)


def _sample(stage, image, seed=3, ctx=CTX):
    return stage.sample(np.random.default_rng(seed), image.shape, ctx)


@pytest.mark.parametrize("name", sorted(STAGES))
@pytest.mark.parametrize("shape", SHAPES)
def test_stage_invariants(name, shape):
    stage = STAGES[name]()
    image = text_line(shape[1], shape[0]) if min(shape) > 8 else np.full(shape + (3,), 140, np.uint8)
    before = image.copy()
    params = _sample(stage, image)
    out = stage.apply(image, params)
    # input untouched; uint8, three channels; size as the stage defines it
    assert np.array_equal(image, before)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    if name == "rotate":
        assert out.shape[:2] == rotated_size(shape[1], shape[0], params["angle"])[::-1]
    elif name == "cylindrical_warp":
        assert out.shape[0] == shape[0] and out.shape[1] >= shape[1]
    else:
        assert out.shape == image.shape
    # a new image, as the stage declares (a recipe may then let the next stage overwrite it),
    # and applying to an image the caller gives up gives the same bytes
    assert stage.returns_new_image and not np.shares_memory(out, image)
    assert np.array_equal(stage.apply_owned(image.copy(), params), out)
    # parameters are plain JSON and replay to the same bytes
    assert json.loads(json.dumps(params)) == params
    assert np.array_equal(stage.apply(image, json.loads(json.dumps(params))), out)
    # same seed, same parameters; another seed, other parameters
    assert _sample(stage, image) == params
    others = [_sample(stage, image, seed=s) for s in range(4, 10)]
    assert any(o != params for o in others)


def test_rotate_angle_within_limits():
    stage = STAGES["rotate"](limit=[-3, 3])
    angles = [stage.sample(np.random.default_rng(s), (48, 320, 3), CTX)["angle"] for s in range(300)]
    assert -3 <= min(angles) < -2.5 and 2.5 < max(angles) <= 3


def test_rotate_rise_tilts_every_line_by_the_same_share_of_its_height():
    """With `rise`, a long line turns less than a short word: the far end's lift is the drawn
    fraction of the height whatever the width, and `limit` still caps the angle."""
    stage = STAGES["rotate"](limit=[-3, 3], rise={"of_height": [0.0, 0.2]})
    for h, w in ((48, 720), (48, 200)):   # atan(0.2 h / w) under 3 degrees: never capped
        lifts = []
        for s in range(300):
            p = stage.sample(np.random.default_rng(s), (h, w, 3), CTX)
            lift = w * math.tan(math.radians(p["angle"])) / h
            assert lift == pytest.approx(p["rise"], abs=1e-6) and abs(lift) <= 0.2 + 1e-9
            lifts.append(lift)
        assert min(lifts) < -0.18 and max(lifts) > 0.18   # both ways, the whole range
    # 15:1 line: within 0.77 degrees; a 2:1 word reaches the 3-degree cap
    long_line = [abs(stage.sample(np.random.default_rng(s), (48, 720, 3), CTX)["angle"]) for s in range(300)]
    word = [abs(stage.sample(np.random.default_rng(s), (32, 64, 3), CTX)["angle"]) for s in range(300)]
    assert max(long_line) <= math.degrees(math.atan(0.2 / 15)) + 1e-9 and max(word) == 3
    assert stage.options() == {"limit": [-3.0, 3.0], "rise": {"of_height": [0.0, 0.2]}}
    assert STAGES["rotate"]().options() == {"limit": [-3.0, 3.0]}


def _glyph_mask() -> np.ndarray:
    """Glyph pixels (255) of a 44-character line on a 64x640 crop, with ink in the four corners."""
    mask = np.zeros((64, 640, 3), np.uint8)
    cv2.putText(mask, "P<KORKIM<<MINJUN<<<<<<<<<<<<<<<<<<<<<<<<<<<<", (0, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.62,
                (255, 255, 255), 2)
    for ys, xs in ((slice(0, 4), slice(0, 6)), (slice(0, 4), slice(-6, None)),
                   (slice(-4, None), slice(0, 6)), (slice(-4, None), slice(-6, None))):
        mask[ys, xs] = 255
    return mask


def _ink_kept(mask: np.ndarray, rotated: np.ndarray) -> float:
    # Bilinear rotation conserves the sum of a mask up to rounding; the replicated border
    # only ever adds. Ink that left the canvas is missing from the sum.
    return rotated.astype(np.float64).sum() / mask.astype(np.float64).sum()


@pytest.mark.parametrize("angle", [-3.0, -1.7, 1.0, 3.0])
def test_rotation_keeps_every_glyph_pixel(angle):
    mask = _glyph_mask()
    out = STAGES["rotate"]().apply(mask, {"angle": angle})
    assert out.shape[:2] == rotated_size(640, 64, angle)[::-1]
    assert _ink_kept(mask, out) > 0.99
    # and each corner's ink lands inside the canvas: the rotated corner pixels are not lost
    h, w = out.shape[:2]
    for corner in (out[: h // 2, : w // 8], out[: h // 2, -w // 8 :], out[h // 2 :, : w // 8], out[h // 2 :, -w // 8 :]):
        assert corner.max() > 100


def _replicate_bilinear(image, inverse, size):
    """The rotation's definition: positions exactly as the kernel takes them, each of the four
    neighbours clamped into the image (replicated border)."""
    h, w = image.shape[:2]
    X, Y = kernel_positions(inverse, size)
    xi, yi = X >> 16, Y >> 16
    src = image.astype(np.int64)

    def at(yy, xx):
        return src[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]

    return bilinear_blend(X, Y, at(yi, xi), at(yi, xi + 1), at(yi + 1, xi), at(yi + 1, xi + 1))


@pytest.mark.parametrize("shape", [(48, 792), (32, 125), (64, 640), (1, 1), (3, 40), (40, 3)])
@pytest.mark.parametrize("angle", [-3.0, -0.37, 0.0, 1.9, 3.0, 45.0, -90.0])
def test_rotation_is_bilinear_with_replicated_border(shape, angle):
    """The grown canvas is exactly bilinear sampling of the source with every neighbour clamped
    into it (replicate), for long lines, tiny images and steep angles alike."""
    from augkit import kernels

    h, w = shape
    image = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = STAGES["rotate"]().apply(image, {"angle": angle})
    new_w, new_h = rotated_size(w, h, angle)
    assert out.shape == (new_h, new_w, 3)
    inverse = kernels.rotation_inverse(w, h, angle, new_w, new_h)
    assert np.array_equal(out, _replicate_bilinear(image, inverse, (new_w, new_h)))
    # and it is the same rotation as OpenCV's (its weights are quantised to 1/32 pixel)
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
    m[0, 2] += (new_w - w) / 2.0
    m[1, 2] += (new_h - h) / 2.0
    opencv = cv2.warpAffine(image, m, (new_w, new_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    diff = np.abs(out.astype(int) - opencv)
    assert diff.max() <= 8 and diff.mean() < 1.0


def test_same_size_rotation_would_cut_glyphs():
    """The check above can fail: rotating onto the original canvas loses corner ink."""
    mask = _glyph_mask()
    m = cv2.getRotationMatrix2D((319.5, 31.5), 3.0, 1.0)
    naive = cv2.warpAffine(mask, m, (640, 64), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    assert _ink_kept(mask, naive) < 0.99


@pytest.mark.parametrize("k", [3.0, 3.5, 4.0, 7.0])
@pytest.mark.parametrize("height", [32, 48, 64])
def test_warp_row_shift_equals_d(k, height):
    """A single vertical line at column x0 ends up at x0 + d(y) in every row."""
    width, x0 = 200, 60
    image = np.full((height, width, 3), 255, np.uint8)
    image[:, x0] = 0
    out = STAGES["cylindrical_warp"]().apply(image, {"k": k})
    d = warp_shift(height, k)
    r = height / (2 * math.pi) * k
    for y in range(height):
        expected = r - math.sqrt(max(r * r - (y - height / 2) ** 2, 0.0))
        assert d[y] == pytest.approx(expected)
        darkness = 255.0 - out[y, :, 0].astype(np.float64)
        centre = (darkness * np.arange(out.shape[1])).sum() / darkness.sum()
        assert centre == pytest.approx(x0 + d[y], abs=0.02)
    assert out.shape[1] == width + math.ceil(d.max() - 1e-9)


def test_warp_is_continuous_and_has_no_black_wedges():
    """Rows beyond the radius shift by r (not by 0), and no pixel turns black at the edges."""
    d = warp_shift(48, 3.0)          # r = 22.9 < H/2: the outer rows lie beyond the radius
    assert np.all(np.abs(np.diff(d)) <= d.max())
    r = 48 / (2 * math.pi) * 3.0
    assert d[0] == pytest.approx(r)
    out = STAGES["cylindrical_warp"]().apply(text_line(text="KIM MINJUN"), {"k": 3.0})
    assert out[:, :3].min() > 150 and out[:, -3:].min() > 150


def test_glare_sections_cover_the_grid_once():
    h, w = 48, 320
    stage = STAGES["sectioned_glare"]()
    covered = np.zeros((h, w), np.int32)
    sections = []
    for v in range(1, 11):
        params = stage.sample(np.random.default_rng(v), (h, w, 3), VariantContext(variant=v, index=v - 1))
        sections.append(params["section"])
        x0, y0, x1, y1 = section_box(h, w, params["section"])
        covered[y0:y1, x0:x1] += 1
        assert 0.5 <= params["alpha"] <= 0.7
    assert sorted(sections) == list(range(10))
    assert np.all(covered == 1)
    # variant 11 comes back to section 0 whatever the recipe split
    assert stage.sample(np.random.default_rng(0), (h, w, 3), VariantContext(11, 0))["section"] == 0


@pytest.mark.parametrize("shape", [(48, 320), (64, 640), (32, 900), (20, 60), (3, 4)])
@pytest.mark.parametrize("section", [0, 3, 7, 9])
def test_glare_profiles_equal_full_size_blur(shape, section):
    """The banded outer-product overlay equals blurring the full-size white-rectangle mask
    with a 51x51 Gaussian (sigma from the size), within 1 grey level."""
    h, w = shape
    x0, y0, x1, y1 = section_box(h, w, section)
    mask = np.zeros((h, w), np.float32)
    mask[y0:y1, x0:x1] = 255.0
    reference = cv2.GaussianBlur(mask, (51, 51), 0)
    rows, b0, cols = glare_profiles(h, w, section)
    full = np.zeros((h, w), np.float32)
    full[:, b0:b0 + len(cols)] = np.outer(rows, cols)
    assert np.abs(full - reference).max() <= 1.0
    assert np.abs(full - reference).mean() < 0.01
    if min(shape) < 20:
        return
    # OpenCV's 8-bit blur of the same mask rounds its fixed-point passes: still within 2 levels
    eight_bit = cv2.GaussianBlur(mask.astype(np.uint8), (51, 51), 0)
    assert np.abs(full - eight_bit).max() <= 2.0


@pytest.mark.parametrize("shape", [(48, 320), (64, 640), (32, 900)])
def test_glare_output_matches_the_full_blur_procedure(shape):
    """Adding the overlay equals adding alpha * the full-size blurred mask (float), saturating."""
    h, w = shape
    image = text_line(w, h)
    alpha = 0.63
    for section in range(10):
        x0, y0, x1, y1 = section_box(h, w, section)
        mask = np.zeros((h, w, 3), np.float32)
        mask[y0:y1, x0:x1] = 255.0
        reference = np.clip(np.rint(image + alpha * cv2.GaussianBlur(mask, (51, 51), 0)), 0, 255)
        out = STAGES["sectioned_glare"]().apply(image, {"section": section, "alpha": alpha})
        assert np.abs(out.astype(int) - reference.astype(int)).max() <= 1


@pytest.mark.parametrize("variance", [(50, 50), (70, 70), (10, 10)])
def test_noise_sigma_on_flat_grey(variance):
    image = np.full((200, 300, 3), 128, np.uint8)
    stage = STAGES["gaussian_noise"](variance=list(variance))
    params = stage.sample(np.random.default_rng(1), image.shape, CTX)
    out = stage.apply(image, params).astype(np.float64) - 128
    requested = math.sqrt(variance[0])
    assert params["sigma"] == pytest.approx(requested)
    assert out.std() == pytest.approx(requested, rel=0.10)
    assert abs(out.mean()) < 0.2
    # independent per channel
    corr = np.corrcoef(out[:, :, 0].ravel(), out[:, :, 1].ravel())[0, 1]
    assert abs(corr) < 0.02


def test_noise_is_independent_between_neighbours_and_images():
    image = np.full((64, 400, 3), 128, np.uint8)
    stage = STAGES["gaussian_noise"]()
    a = stage.apply(image, {"sigma": 8.0, "noise_seed": 11}).astype(np.float64) - 128
    b = stage.apply(image, {"sigma": 8.0, "noise_seed": 12}).astype(np.float64) - 128
    for x, y in ((a[:, 1:], a[:, :-1]), (a[1:], a[:-1]), (a, b)):  # right, lower neighbour; another seed
        assert abs(np.corrcoef(x.ravel(), y.ravel())[0, 1]) < 0.02
    # Gaussian shape: |round(8 z)| <= 8 and <= 16 exactly when |z| < 8.5 / 8 and < 16.5 / 8
    for within, z in ((8.0, 8.5 / 8), (16.0, 16.5 / 8)):
        assert np.mean(np.abs(a) <= within) == pytest.approx(math.erf(z / math.sqrt(2)), abs=0.01)


def test_noise_on_an_image_larger_than_the_table_run():
    from augkit.stages.photometric import NOISE_TABLE_SIZE

    image = np.full((NOISE_TABLE_SIZE // 4 // 3 // 1000 + 1, 1000, 3), 128, np.uint8)
    params = {"sigma": 5.0, "noise_seed": 3}
    out = STAGES["gaussian_noise"]().apply(image, params)
    assert np.array_equal(out, STAGES["gaussian_noise"]().apply(image, params))
    noise = out.astype(np.float64) - 128
    assert noise.std() == pytest.approx(5.0, rel=0.03) and abs(noise.mean()) < 0.05


def test_noise_saturates():
    image = np.zeros((50, 50, 3), np.uint8)
    out = STAGES["gaussian_noise"]().apply(image, {"sigma": 8.0, "noise_seed": 5})
    assert out.min() == 0 and (out == 0).mean() > 0.4


def test_brightness_contrast_formula():
    image = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    out = STAGES["brightness_contrast"]().apply(image, {"alpha": 1.15, "beta": -0.1})
    # 16.16 fixed point, rounded half up
    a, b = round(1.15 * 65536), round(-0.1 * 255 * 65536)
    assert np.array_equal(out, np.clip((image.astype(np.int64) * a + b + 32768) >> 16, 0, 255).astype(np.uint8))
    # which is alpha * v + beta * 255 rounded, but for values within 1/400 of a half
    exact = 1.15 * image.astype(np.float64) - 25.5
    assert np.abs(out - np.clip(exact, 0, 255)).max() <= 0.5 + 1 / 400


def test_pixelate_sizes_and_opencv():
    image = text_line(320, 48)
    out = STAGES["pixelate"]().apply(image, {"scale": 0.3})
    # the shrink is OpenCV's bilinear resize up to the 1/128-pixel positions (within one level) ...
    small = cv2.resize(image, (96, 14), interpolation=cv2.INTER_LINEAR)
    # ... and the enlargement is nearest: every pixel takes the small pixel its centre falls in
    rows = ((np.arange(48) + 0.5) * 14 / 48).astype(int)
    cols = ((np.arange(320) + 0.5) * 96 / 320).astype(int)
    assert np.abs(out.astype(int) - small[rows][:, cols]).max() <= 1
    tiny = np.full((2, 2, 3), 9, np.uint8)
    assert np.array_equal(STAGES["pixelate"]().apply(tiny, {"scale": 0.3}), tiny)


@pytest.mark.parametrize("size", [3, 5, 7])
def test_motion_blur_kernel_is_a_normalised_line(size):
    from augkit.stages.blur import line_kernel

    for angle in (0.0, 45.0, 90.0, 133.0):
        k = line_kernel(size, angle)
        assert k.shape == (size, size) and k.sum() == pytest.approx(1.0)
    assert np.count_nonzero(line_kernel(size, 0.0)[(size - 1) // 2]) == size
    assert np.count_nonzero(line_kernel(size, 0.0)) == size


def test_motion_blur_kernels_off_the_grid_and_their_centroid():
    from augkit.stages.blur import MIN_WEIGHT, line_kernel

    for angle in (0.0, 33.3, 33.33, 90.0, 127.45, 179.9):
        k = line_kernel(7, angle).astype(np.float64)
        assert k.sum() == pytest.approx(1.0) and k[k > 0].min() >= MIN_WEIGHT
        ys, xs = np.mgrid[0:7, 0:7]
        assert (k * xs).sum() == pytest.approx(3.0, abs=1e-6) and (k * ys).sum() == pytest.approx(3.0, abs=1e-6)
        # the weight lies along the line: its principal direction is the angle
        cov = np.cov(np.stack([xs.ravel() - 3, 3 - ys.ravel()]), aweights=k.ravel())
        direction = np.linalg.eigh(cov)[1][:, -1]
        found = math.degrees(math.atan2(direction[1], direction[0])) % 180.0
        assert min(abs(found - angle), 180 - abs(found - angle)) < 2.0
    assert np.allclose(line_kernel(5, 33.33), line_kernel(5, 33.3), atol=0.02)


@pytest.mark.parametrize("name,options", [
    ("rotate", {"limit": [3, -3]}), ("rotate", {"limit": "x"}), ("rotate", {"rise": 0.2}),
    ("rotate", {"rise": {"of_height": [-0.1, 0.2]}}), ("gaussian_noise", {"variance": [-1, 5]}),
    ("motion_blur", {"kernels": [4]}), ("pixelate", {"scale": [0, 1]}), ("cylindrical_warp", {"k": [0, 3]}),
    ("sectioned_glare", {"kernel": 50}), ("brightness_contrast", {"brightness": 2}),
])
def test_bad_options_are_refused(name, options):
    from augkit.stages import StageOptionError

    with pytest.raises(StageOptionError):
        STAGES[name](**options)
