#!/usr/bin/python3
"""pipeline_opencv.py — the reference for bench/pipeline.sh: the same face
pipeline as Rollcall's one-face frame written with Python and OpenCV's DNN
module (Debian's python3-opencv), on the same models and the same JPEG bytes:
decode (cv2.imdecode) -> detect (blobFromImage 320x240, (x-127)/128, RGB;
score threshold 0.7; cv2.dnn.NMSBoxes at 0.4) -> landmarks (square box of the
box's height, gray, 64x64, /256) -> align (least-squares similarity onto the
ArcFace 5-point template, cv2.warpAffine 112x112) -> embed (blobFromImage
(x-127)/128, RGB; L2 norm) -> liveness (the 2.7x crop of face.c's
face_liveness_rect, cv2.resize 128x128, B G R 0..255; softmax) -> search
(numpy: 10 000 random 512-d templates, best cosine).

One thread (cv2.setNumThreads(1), OPENBLAS_NUM_THREADS=1 from the caller),
median per stage over RUNS runs after two warm-up runs, in thread CPU time
(time.thread_time) or wall-clock time. A model OpenCV cannot load is named
with OpenCV's reason and its stage is left out; the rest is timed.

Usage: pipeline_opencv.py MODELS_DIR FRAME.jpg RUNS [cpu|wall [EMBED.json]]
Prints `stage ms` lines (and `faces N`), which pipeline.sh puts beside
Rollcall's figures; with EMBED.json (`rollcall embed --json FRAME.jpg`) also
the cosine between the two pipelines' embeddings of the face.
"""
import statistics
import sys
import time

import cv2
import numpy as np

ARCFACE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                    [41.5493, 92.3655], [70.7299, 92.2041]], np.float64)


def load(models, name):
    try:
        net = cv2.dnn.readNetFromONNX(f"{models}/{name}.onnx")
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        return net
    except cv2.error as e:
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else "unknown error"
        print(f"# OpenCV DNN cannot load {name}.onnx: {reason}; stage left out")
        return None


def similarity(src, dst):
    """Least-squares similarity (Umeyama without reflection) src -> dst, 2x3."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    a = (s * d).sum() / (s * s).sum()
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / (s * s).sum()
    m = np.array([[a, -b, 0], [b, a, 0]], np.float64)
    m[:, 2] = md - m[:, :2] @ ms
    return m


def liveness_rect(W, H, box):
    """face.c face_liveness_rect: the package's 2.7x crop, shifted inside."""
    x0, y0, x1, y1 = box
    side, cx, cy = y1 - y0, (x0 + x1) / 2, (y0 + y1) / 2
    bx1, by1 = max(cx - side / 2, 0), max(cy - side / 2, 0)
    bx2, by2 = min(cx + side / 2, W - 1), min(cy + side / 2, H - 1)
    if not (bx2 > bx1 and by2 > by1):
        return None
    bx, by = float(int(bx1)), float(int(by1))
    bw, bh = max(abs(int(bx2) - bx), 1), max(abs(int(by2) - by), 1)
    scale = min((H - 1) / bh, (W - 1) / bw, 2.7)
    nw, nh, mx, my = bw * scale, bh * scale, bx + bw / 2, by + bh / 2
    l, t, r, b = mx - nw / 2, my - nh / 2, mx + nw / 2, my + nh / 2
    if l < 0:
        r, l = r - l, 0
    if t < 0:
        b, t = b - t, 0
    if r > W - 1:
        l, r = l - (r - (W - 1)), W - 1
    if b > H - 1:
        t, b = t - (b - (H - 1)), H - 1
    x, y = max(int(l), 0), max(int(t), 0)
    w, h = min(int(r - l), W - 1), min(int(b - t), H - 1)
    return (x, y, w, h) if w >= 1 and h >= 1 else None


def main():
    models, frame_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    clock = time.perf_counter if len(sys.argv) > 4 and sys.argv[4] == "wall" else time.thread_time
    cv2.setNumThreads(1)
    det, lmk, emb, live = (load(models, n) for n in
                           ("fr_detect", "fr_landmark", "fr_feature", "fr_liveness"))
    data = np.frombuffer(open(frame_path, "rb").read(), np.uint8)
    rng = np.random.default_rng(12345)
    gallery = rng.random((10000, 512), dtype=np.float32) - 0.5
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    stages = ["decode", "detect", "landmarks", "align", "embed", "liveness", "search", "total"]
    t = {s: [] for s in stages}
    faces, last = 0, None
    for r in range(-2, runs):
        m = dict.fromkeys(stages, 0.0)
        c0 = clock()
        img = cv2.imdecode(data, cv2.IMREAD_COLOR)
        c1 = clock()
        m["decode"] = c1 - c0
        H, W = img.shape[:2]
        boxes = []
        if det is not None:
            blob = cv2.dnn.blobFromImage(img, 1 / 128, (320, 240), (127, 127, 127), swapRB=True)
            det.setInput(blob)
            out = det.forward(["scores", "boxes"])
            sc, bx = out[0][0][:, 1], out[1][0]
            keep = sc >= 0.7
            sc, bx = sc[keep], bx[keep] * np.array([W, H, W, H], np.float32)
            rects = [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]
                     for b in bx]
            idx = cv2.dnn.NMSBoxes(rects, sc.tolist(), 0.7, 0.4)
            boxes = [bx[i] for i in np.array(idx).reshape(-1)]
        c2 = clock()
        m["detect"] = c2 - c1
        faces = len(boxes)
        for b in boxes:
            c = clock()
            x0, y0, x1, y1 = (float(v) for v in b)
            side = y1 - y0
            sx, sy = (x0 + x1) / 2 - side / 2, (y0 + y1) / 2 - side / 2
            lm5 = None
            if lmk is not None:
                mtx = np.array([[64 / side, 0, -sx * 64 / side], [0, 64 / side, -sy * 64 / side]])
                crop = cv2.warpAffine(img, mtx, (64, 64))
                gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
                lmk.setInput(cv2.dnn.blobFromImage(gray, 1 / 256))
                p = lmk.forward().reshape(68, 2) * side + np.array([sx, sy])
                lm5 = np.array([p[[37, 38, 40, 41]].mean(0), p[[43, 44, 46, 47]].mean(0), p[30],
                                (p[48] + p[60]) / 2, (p[54] + p[64]) / 2])
            c1 = clock()
            m["landmarks"] += c1 - c
            aligned = None
            if lm5 is not None:
                aligned = cv2.warpAffine(img, similarity(lm5, ARCFACE), (112, 112))
            c2 = clock()
            m["align"] += c2 - c1
            e = None
            if emb is not None and aligned is not None:
                emb.setInput(cv2.dnn.blobFromImage(aligned, 1 / 128, (112, 112), (127, 127, 127),
                                                   swapRB=True))
                e = emb.forward().reshape(-1)
                e = e / np.linalg.norm(e)
            c3 = clock()
            m["embed"] += c3 - c2
            rect = liveness_rect(W, H, (x0, y0, x1, y1))
            if live is not None and rect is not None:
                x, y, w, h = rect
                crop = cv2.resize(img[y:y + h, x:x + w], (128, 128))
                live.setInput(cv2.dnn.blobFromImage(crop))
                o = live.forward().reshape(-1)
                o = np.exp(o - o.max())
                _ = o[0] / o.sum()
            c4 = clock()
            m["liveness"] += c4 - c3
            if e is not None:
                s = gallery @ e.astype(np.float32)
                _ = int(np.argmax(s))
                last = e
            m["search"] += clock() - c4
        m["total"] = clock() - c0
        if r >= 0:
            for s in stages:
                t[s].append(m[s] * 1000)
    print(f"faces {faces}")
    if len(sys.argv) > 5 and last is not None:
        import json
        with open(sys.argv[5]) as f:
            ref = np.array(json.loads(f.readline())["embedding"], np.float64)
        print(f"cosine {float(last @ ref):.4f}")
    for s in stages:
        print(f"{s} {statistics.median(t[s]):.3f}")


if __name__ == "__main__":
    main()
