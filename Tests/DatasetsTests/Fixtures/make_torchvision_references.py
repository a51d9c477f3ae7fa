"""Reference values from torchvision for cnn-dist's own versions of its transforms.

usage: ~/.cache/cnn-dist-peers/bin/python Tests/DatasetsTests/Fixtures/make_torchvision_references.py
Writes torchvision-transforms.json next to this file. The inputs are given by formulas (see
"input_formula" in the JSON) so the Swift tests can rebuild them exactly. Every array is flat and
row-major in CHW order (uint8 results too), with its shape [C, H, W]; floats are rounded to 7
significant digits.
"""
import json, os, platform
import numpy as np, PIL, torch, torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

RGB_W, RGB_H, GRAY_W, GRAY_H = 37, 23, 19, 30
RGB_FORMULA = "(x*7 + y*13 + c*71 + (x*y) % 29) % 256"
GRAY_FORMULA = "(x*11 + y*5 + (x*y) % 17) % 256"


def rgb_pixels():  # HWC uint8
    y, x, c = np.meshgrid(np.arange(RGB_H), np.arange(RGB_W), np.arange(3), indexing="ij")
    return ((x * 7 + y * 13 + c * 71 + (x * y) % 29) % 256).astype(np.uint8)


def gray_pixels():  # HW uint8
    y, x = np.meshgrid(np.arange(GRAY_H), np.arange(GRAY_W), indexing="ij")
    return ((x * 11 + y * 5 + (x * y) % 17) % 256).astype(np.uint8)


def u8(img):  # PIL image -> CHW uint8
    a = np.asarray(img)
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return {"shape": list(a.shape), "uint8": [int(v) for v in a.ravel()]}


def f32(t):
    a = t.numpy()
    assert a.dtype == np.float32 and a.ndim == 3
    return {"shape": list(a.shape), "float": [float(f"{v:.7g}") for v in a.ravel().tolist()]}


def crop_origin(h, w, crop):
    """(top, left) that torchvision's own center_crop picks, read back from an index image."""
    idx = torch.arange(h * w, dtype=torch.float64).reshape(1, h, w)
    first = int(F.center_crop(idx, [crop, crop])[0, 0, 0])
    return first // w, first % w


rgb, gray = Image.fromarray(rgb_pixels(), "RGB"), Image.fromarray(gray_pixels(), "L")
t = F.to_tensor(rgb)  # float32 [3, 23, 37], exactly uint8 / 255
cases = {}

# a. Resize on PIL images (PIL bilinear, always antialiased), then ToTensor.
for name, img, size in [("resize_pil_rgb_16", rgb, 16), ("resize_pil_rgb_40", rgb, 40), ("resize_pil_gray_8", gray, 8)]:
    out = T.Resize(size)(img)
    kind = "RGB" if img.mode == "RGB" else "gray"
    cases[name] = {"op": f"T.Resize({size}) on the PIL {kind} image; float = T.ToTensor() of it",
                   **u8(out), "float": f32(T.ToTensor()(out))["float"]}

# b. resized_crop on the PIL image and on the float tensor.
box = dict(top=3, left=5, height=15, width=20, size=[11, 13])
cases["resized_crop_pil_rgb"] = {"op": "F.resized_crop(PIL RGB, top=3, left=5, height=15, width=20, size=[11, 13])",
                                 **box, **u8(F.resized_crop(rgb, **box))}
cases["resized_crop_tensor_rgb"] = {"op": "F.resized_crop(ToTensor(RGB), same box, antialias=True) (bilinear)",
                                    **box, **f32(F.resized_crop(t, **box, antialias=True))}

# c. CenterCrop, with the origin torchvision picks: int(round((H - h) / 2)), Python's round is half-to-even.
top, left = crop_origin(RGB_H, RGB_W, 10)
cases["center_crop_10_rgb"] = {"op": "T.CenterCrop(10) on the PIL RGB image", "input_hw": [RGB_H, RGB_W],
                               "top": top, "left": left, **u8(T.CenterCrop(10)(rgb))}
rgb22 = rgb.crop((0, 0, RGB_W, 22))  # rows 0..21
top, left = crop_origin(22, RGB_W, 8)
cases["center_crop_8_rgb_37x22"] = {"op": "T.CenterCrop(8) on rows 0..21 of the PIL RGB image (a 37x22 image)",
                                    "input_hw": [22, RGB_W], "top": top, "left": left, **u8(T.CenterCrop(8)(rgb22))}
origins = [(23, 37, 10), (22, 37, 8), (23, 37, 20), (25, 37, 10), (27, 37, 8),
           (256, 341, 224), (256, 342, 224), (256, 343, 224), (256, 345, 224)]
cases["center_crop_origins"] = {"op": "(top, left) of F.center_crop for [H, W] and square crop size c",
                                "rows": [{"hw": [h, w], "crop": c, "top_left": list(crop_origin(h, w, c))}
                                         for h, w, c in origins]}


def ten_crop_views(h, w, crop):
    """Each TenCrop output as [top, left, mirrored]: where its pixels come from in an index image."""
    idx = torch.arange(h * w, dtype=torch.float64).reshape(1, h, w)
    views = []
    for out in T.TenCrop(crop)(idx):
        first, second = int(out[0, 0, 0]), int(out[0, 0, 1])
        mirrored = second < first
        left = first % w - (crop - 1) if mirrored else first % w
        views.append([first // w, left, int(mirrored)])
    return views


cases["ten_crop_views"] = {"op": "T.TenCrop(c) of an index image: each crop's [top, left, mirrored] in source pixels",
                           "rows": [{"hw": [h, w], "crop": c, "views": ten_crop_views(h, w, c)}
                                    for h, w, c in [(256, 341, 224), (256, 342, 224), (23, 37, 10), (32, 32, 28)]]}

# d. ColorJitter's tensor primitives and the grayscale conversion, on ToTensor(RGB).
for name, fn, desc in [("brightness_1.3", lambda x: F.adjust_brightness(x, 1.3), "F.adjust_brightness(t, 1.3)"),
                       ("contrast_0.6", lambda x: F.adjust_contrast(x, 0.6), "F.adjust_contrast(t, 0.6)"),
                       ("saturation_1.7", lambda x: F.adjust_saturation(x, 1.7), "F.adjust_saturation(t, 1.7)"),
                       ("saturation_0", lambda x: F.adjust_saturation(x, 0.0), "F.adjust_saturation(t, 0.0)"),
                       ("grayscale", F.rgb_to_grayscale, "F.rgb_to_grayscale(t) = 0.2989 r + 0.587 g + 0.114 b")]:
    cases[name] = {"op": desc + ", t = ToTensor(RGB)", **f32(fn(t))}
cases["contrast_0.6"]["grayscale_mean"] = float(f"{torch.mean(F.rgb_to_grayscale(t)).item():.7g}")

# e. Normalize.
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
cases["normalize_imagenet"] = {"op": "T.Normalize(mean, std)(ToTensor(RGB))", "mean": mean, "std": std,
                               **f32(T.Normalize(mean, std)(t))}

# f. RandomResizedCrop.get_params' fallback (centre crop), reached by making all 10 attempts fail:
# with scale >= 2 the target area is over twice the image, so no w <= width, h <= height exists.
ratio, forced = (3 / 4, 4 / 3), (2.0, 3.0)
rows = []
for h, w in [(23, 37), (20, 100), (100, 20), (20, 98), (25, 30)]:
    i, j, ch, cw = T.RandomResizedCrop.get_params(torch.zeros(1, h, w), list(forced), list(ratio))
    rows.append({"hw": [h, w], "ijhw": [i, j, ch, cw]})
cases["rrc_fallback"] = {"op": "T.RandomResizedCrop.get_params(img [H, W], scale, ratio) when all 10 attempts fail",
                         "scale_used": list(forced), "nominal_scale": [0.08, 1.0], "ratio": list(ratio),
                         "note": "the fallback depends only on the size and ratio: w or h = int(round(...)) "
                                 "(half-to-even), i = (H - h) // 2, j = (W - w) // 2 (floor, unlike CenterCrop)",
                         "rows": rows}

doc = {
    "generator": "Tests/DatasetsTests/Fixtures/make_torchvision_references.py",
    "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "Pillow": PIL.__version__,
                 "numpy": np.__version__, "python": platform.python_version()},
    "input_formula": {
        "rgb": {"width": RGB_W, "height": RGB_H, "pixel(x, y, c)": RGB_FORMULA, "mode": "RGB uint8"},
        "gray": {"width": GRAY_W, "height": GRAY_H, "pixel(x, y)": GRAY_FORMULA, "mode": "L uint8"},
        "notes": "x column, y row, c channel 0..2; ToTensor(RGB) = uint8 / 255 as float32",
    },
    "layout": "flat row-major arrays in CHW order with shape [C, H, W]; floats rounded to 7 significant digits",
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchvision-transforms.json")
with open(path, "w") as f:  # one case a line: compact, and diffs stay readable
    head = json.dumps(doc, separators=(",", ":"))[:-1]
    body = ",\n".join(f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}" for k, v in cases.items())
    f.write(head + ',\n"cases":{\n' + body + "\n}}\n")
print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(cases)} cases)")
