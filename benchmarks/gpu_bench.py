"""GPU throughput: bare forward vs ``evaluate`` (fp32 / AMP, with / without ``--decode-cache``).

    python benchmarks/gpu_bench.py [--device cuda] [--n 2048] [--batch-size 256] [--workers 15]
    python benchmarks/gpu_bench.py --dry-run      # CPU, 8 images, tiny models: checks the script in seconds

Models (random init, ``pretrained=None``; throughput does not depend on the weights): ViT-B/32
(``open_clip:ViT-B-32/none``) and ResNet-50 (``timm:resnet50.a1_in1k/none``). Images: ``--n``
synthetic JPEGs of ImageNet size (500 x 375, quality 90; noise over colour gradients, so the
decoder does real work) in a partial ImageNet-R layout under a temporary data root.

For each model and precision:

1. bare forward img/s: the model on preloaded, preprocessed tensors already on the device
   (``encode_image`` / timm ``forward_features`` + head), warm-up first, synchronized timing;
2. ``evaluate`` img/s from files (decode + preprocess + forward + chunk writes), from the entry's
   ``meta.json`` timings, without and with ``decode_cache`` (second pass: decoded uint8 images
   from the memmap built by the first). Each evaluate starts from an empty ``entries/`` folder
   (text heads and model configs are kept: they are not image throughput).

Writes a markdown table (date, device, settings) to ``--out`` (``benchmarks/results-gpu.md``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODELS = ("open_clip:ViT-B-32/none", "timm:resnet50.a1_in1k/none")
DRY_MODELS = ("open_clip:cliprobust-tiny/none", "timm:test_resnet.r160_in1k")
#: ImageNet's typical image size (most val images are 500 x 375 or 375 x 500).
IMAGE_SIZE = (500, 375)
JPEG_QUALITY = 90
PROMPT_SET = "photo"  # one template: the 1000-class head is built once per model, then cached
PRECISIONS = ("fp32", "amp")


def make_jpegs(root: Path, n: int, seed: int = 0) -> Path:
    """``n`` synthetic ImageNet-size JPEGs as ``<root>/imagenet-r/<wnid>/<i>.jpg`` (8 R classes)."""
    from PIL import Image

    from cliprobust import datasets

    rng = np.random.default_rng(seed)
    wnids = datasets.subset_wnids("imagenet-r")[:8]
    w, h = IMAGE_SIZE
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    for i in range(n):
        base = ramp * rng.uniform(0.3, 1.0, size=(1, 1, 3)).astype(np.float32)
        img = np.clip(base + rng.normal(0, 40, size=(h, w, 3)), 0, 255).astype(np.uint8)
        dest = root / "imagenet-r" / wnids[i % len(wnids)] / f"{i:06d}.jpg"
        dest.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(dest, quality=JPEG_QUALITY)
    return root


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_forward(model_id: str, root: Path, device_name: str, precision: str, batch_size: int) -> float:
    """img/s of the model on preloaded, preprocessed tensors on the device."""
    import torch

    from cliprobust.inference import images, load_model

    loaded = load_model(model_id, device_name)
    files = sorted((root / "imagenet-r").rglob("*.jpg"))
    x = torch.stack([loaded.preprocess(images.read_rgb(p)) for p in files]).to(loaded.device)
    if loaded.device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    amp = (torch.autocast(loaded.device.type, dtype=torch.bfloat16) if precision == "amp"
           else torch.autocast(loaded.device.type, enabled=False))
    batches = [x[i:i + batch_size] for i in range(0, len(x), batch_size)]
    with torch.no_grad(), amp:
        loaded.encode_images(batches[0])  # warm-up (cuDNN autotune, lazy init)
        _sync(loaded.device)
        t0 = time.perf_counter()
        for b in batches:
            loaded.encode_images(b)
        _sync(loaded.device)
        dt = time.perf_counter() - t0
    del loaded, x, batches
    if device_name.startswith("cuda"):
        torch.cuda.empty_cache()
    return len(files) / dt


def evaluate_rate(model_id: str, root: Path, cache_dir: Path, device_name: str, precision: str,
                  batch_size: int, workers: int, decode_cache: bool) -> dict[str, float]:
    """``evaluate`` of one (model, data set) from files: image-pass img/s (meta.json) and wall seconds."""
    from cliprobust import cache
    from cliprobust.inference import configs_for, evaluate

    shutil.rmtree(cache_dir / "entries", ignore_errors=True)
    configs = configs_for(model_id, ["imagenet-r"], data_root=str(root), prompt_set=PROMPT_SET, check_count=False,
                          progress=False, device=device_name, precision=precision, batch_size=batch_size,
                          workers=workers, decode_cache=decode_cache)
    t0 = time.perf_counter()
    folders = evaluate(configs)
    wall = time.perf_counter() - t0
    meta = cache.read_json(folders[0] / "meta.json")
    return {"img_s": float(meta["timings"]["images_per_s"]), "wall_s": wall,
            "load_s": float(meta["timings"].get("load_s", float("nan")))}


def device_label(device_name: str) -> str:
    import torch

    if device_name.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA {torch.version.cuda})"
    return f"CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores (torch {torch.__version__})"


def table(rows: list[dict[str, object]], args: argparse.Namespace, label: str) -> str:
    """Markdown report of the measured rows."""
    head = (f"# GPU throughput\n\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {label}; {args.n} synthetic "
            f"JPEGs {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} (quality {JPEG_QUALITY}); batch {args.batch_size}, "
            f"{args.workers} loader workers; random-init weights. `evaluate` img/s = the entry's image pass "
            f"(decode + preprocess + forward + chunk writes); with `--decode-cache` = the second pass, reading the "
            f"decoded-image memmap built by the first.\n\n")
    if args.dry_run:
        head += "**DRY RUN (CPU, tiny models, 8 images): checks the script, the numbers mean nothing.**\n\n"
    lines = ["| model | precision | bare forward img/s | evaluate img/s | evaluate / bare | "
             "evaluate --decode-cache img/s | decode-cache / bare |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['precision']} | {r['bare']:.0f} | {r['eval']:.0f} | "
                     f"{r['eval'] / r['bare']:.2f} | {r['eval_dc']:.0f} | {r['eval_dc'] / r['bare']:.2f} |")
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--n", type=int, default=2048, help="synthetic JPEGs")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=int, default=max(1, min(15, (os.cpu_count() or 2) - 1)))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--precisions", default=",".join(PRECISIONS))
    p.add_argument("--out", default=str(HERE / "results-gpu.md"))
    p.add_argument("--dry-run", action="store_true", help="CPU, 8 images, tiny models, batch 4, 0 workers; "
                   "report to a temp file unless --out is given")
    args = p.parse_args(argv)
    if args.dry_run:
        args.device, args.n, args.batch_size, args.workers = "cpu", 8, 4, 0
        args.models = ",".join(DRY_MODELS) if args.models == ",".join(MODELS) else args.models
        if args.out == str(HERE / "results-gpu.md"):
            args.out = str(Path(tempfile.gettempdir()) / "results-gpu-dry-run.md")
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_bench: no CUDA device; use --dry-run (or --device cpu) to check the script", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="cliprobust-gpu-bench-"))
    os.environ["CLIPROBUST_CACHE_DIR"] = str(work / "cache")
    try:
        t0 = time.perf_counter()
        root = make_jpegs(work / "data", args.n)
        print(f"gpu_bench: {args.n} JPEGs in {time.perf_counter() - t0:.1f} s", flush=True)
        rows = []
        for model in [m for m in args.models.split(",") if m]:
            for precision in [q for q in args.precisions.split(",") if q]:
                row = {"model": model, "precision": precision,
                       "bare": bare_forward(model, root, args.device, precision, args.batch_size)}
                common = (model, root, work / "cache", args.device, precision, args.batch_size, args.workers)
                row["eval"] = evaluate_rate(*common, decode_cache=False)["img_s"]
                evaluate_rate(*common, decode_cache=True)  # builds the decoded-image memmap
                row["eval_dc"] = evaluate_rate(*common, decode_cache=True)["img_s"]
                rows.append(row)
                print(f"gpu_bench: {model} {precision}: bare {row['bare']:.0f}, evaluate {row['eval']:.0f}, "
                      f"decode-cache {row['eval_dc']:.0f} img/s ({time.perf_counter() - t0:.0f} s)", flush=True)
        report = table(rows, args, device_label(args.device))
        Path(args.out).write_text(report)
        print(report)
        print(f"gpu_bench: wrote {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
