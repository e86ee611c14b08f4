#!/usr/bin/env python3
"""A small stand-in for 3dshapes.h5 in the real file's layout, for quick runs of the Shapes3D programs.

  python3 tools/make_shapes3d_small.py OUT_DIR [--sizes 4,4,4,3,2,4] [--px 32]

Writes OUT_DIR/3dshapes.h5: 'images' N x px x px x 3 uint8 and 'labels' N x 6 float64 (floor hue,
wall hue, object hue, scale, shape, orientation; values like the real file's: hues k/n, scale
0.75..1.25, shape 0..n-1, orientation -30..30 degrees), images in the flat factor order of spec §4.
Each factor is visible: floor (lower third) and wall (upper part) coloured by their hues, and in the
middle an object of its hue, scaled, of one of four outlines (rectangle, ellipse, triangle, cross),
rotated. Refuses to overwrite an existing file. Needs numpy and h5py.
"""
import colorsys
import os
import sys


def main():
    args = sys.argv[1:]
    sizes, px = [4, 4, 4, 3, 2, 4], 32
    try:
        if "--sizes" in args:
            i = args.index("--sizes")
            sizes = [int(x) for x in args[i + 1].split(",")]
            del args[i:i + 2]
        if "--px" in args:
            i = args.index("--px")
            px = int(args[i + 1])
            del args[i:i + 2]
    except (IndexError, ValueError):
        args = []
    if len(args) != 1 or len(sizes) != 6 or min(sizes) < 1 or sizes[4] > 4 or px < 8:
        print(__doc__, file=sys.stderr)
        print("make_shapes3d_small.py: want OUT_DIR, six sizes >= 1 (shape <= 4) and --px >= 8", file=sys.stderr)
        return 2
    import numpy as np
    import h5py
    out = os.path.join(args[0], "3dshapes.h5")
    if os.path.exists(out):
        print("make_shapes3d_small.py: %s exists" % out, file=sys.stderr)
        return 1
    os.makedirs(args[0], exist_ok=True)
    n = int(np.prod(sizes))
    grid = np.stack(np.unravel_index(np.arange(n), sizes), axis=1)  # flat index order of spec §4
    rgb = lambda h: np.array(colorsys.hsv_to_rgb(h, 0.9, 0.9)) * 255
    yy, xx = np.mgrid[0:px, 0:px].astype(np.float64) / px - 0.5
    images = np.zeros((n, px, px, 3), np.uint8)
    labels = np.zeros((n, 6))
    for i, (f, w, o, s, sh, r) in enumerate(grid):
        img = np.zeros((px, px, 3))
        img[:] = rgb(w / sizes[1])
        img[int(px * 0.7):] = rgb(f / sizes[0])
        scale = 0.75 + 0.5 * s / max(sizes[3] - 1, 1)
        angle = -30.0 + 60.0 * r / max(sizes[5] - 1, 1)
        t = np.deg2rad(angle)
        u = (np.cos(t) * xx + np.sin(t) * (yy - 0.05)) / (0.22 * scale)
        v = (-np.sin(t) * xx + np.cos(t) * (yy - 0.05)) / (0.22 * scale)
        mask = [
            (abs(u) < 1.0) & (abs(v) < 0.5),                          # rectangle
            u ** 2 + (2 * v) ** 2 < 1.0,                              # ellipse
            (v > -0.6) & (v < 0.6) & (abs(u) < (0.6 - v) / 1.2),      # triangle
            ((abs(u) < 1.0) & (abs(v) < 0.25)) | ((abs(u) < 0.25) & (abs(v) < 0.8)),  # cross
        ][sh]
        img[mask] = rgb(o / sizes[2])
        images[i] = img.astype(np.uint8)
        labels[i] = [f / sizes[0], w / sizes[1], o / sizes[2], scale, sh, angle]
    tmp = out + ".tmp"
    with h5py.File(tmp, "w") as h:
        h.create_dataset("images", data=images)
        h.create_dataset("labels", data=labels)
    os.replace(tmp, out)
    print("%s: %d images of %d px, factor sizes %s" % (out, n, px, ",".join(map(str, sizes))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
