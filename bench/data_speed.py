"""Data pipeline benchmark on the shared CelebA sample: prints images/s, asserts nothing.

  (a) the usual per-epoch pipeline: PIL decode + torchvision CenterCrop/Resize/ToTensor in a DataLoader (2 workers);
  (b) the cached pipeline: `Batches` over the memory-mapped uint8 cache (with flips), and with `to_float` as well;
  (c) `prepare`: decoding the sample into the cache (2 workers).

Run: python bench/data_speed.py [--sample ../shared/data/celeba-sample] [--batch-size 32]
"""
import argparse, tempfile, time, warnings
from pathlib import Path
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T
from vae_celeba.config import Config
from vae_celeba.data import prepare, ImageCache, Batches, to_float, crop_box

class PerEpochCelebA(Dataset):
    "What most CelebA VAE repositories do: open, decode, crop and resize every image in every epoch."
    def __init__(self, folder):
        self.files = sorted(Path(folder).glob('*.jpg'))
        w, h = Image.open(self.files[0]).size
        l, t, r, b = crop_box(w, h)
        self.tf = T.Compose([T.CenterCrop(r - l), T.Resize(64), T.ToTensor()])
    def __len__(self): return len(self.files)
    def __getitem__(self, i): return self.tf(Image.open(self.files[i]).convert('RGB'))

def rate(it, n_images, min_seconds=3.0):
    "images/s of iterating `it()` repeatedly for at least `min_seconds`."
    done, t0 = 0, time.perf_counter()
    while True:
        for x in it(): done += len(x)
        dt = time.perf_counter() - t0
        if dt >= min_seconds: return done / dt

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sample', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'celeba-sample'))
    ap.add_argument('--batch-size', type=int, default=32)
    a = ap.parse_args()
    sample = Path(a.sample)
    if not sample.is_dir(): raise SystemExit(f"no CelebA sample at {sample}: pass --sample")
    torch.set_num_threads(2)
    warnings.simplefilter('ignore')
    with tempfile.TemporaryDirectory() as cache:
        cfg = Config(data_dir=str(sample), cache_dir=cache, download=False, num_workers=2, batch_size=a.batch_size)
        t = time.perf_counter(); folder = prepare(cfg, quiet=True); t_prep = time.perf_counter() - t
        n_all = sum(len(ImageCache(folder, s)) for s in ('train', 'valid', 'test'))
        print(f"(c) prepare: {n_all} images in {t_prep:.2f} s = {n_all / t_prep:,.0f} images/s (2 workers, decode + crop + resize + write)")

        ds = PerEpochCelebA(sample/'img_align_celeba')
        dl = DataLoader(ds, batch_size=a.batch_size, shuffle=True, num_workers=2, persistent_workers=True, drop_last=True)
        r_a = rate(lambda: dl, len(ds), min_seconds=6)
        print(f"(a) per-epoch PIL + torchvision transforms, DataLoader with 2 workers: {r_a:,.0f} images/s")

        bt = Batches(ImageCache(folder, 'train'), a.batch_size, hflip=True, seed=0)
        epoch = [0]
        def it():
            bt.set_epoch(epoch[0]); epoch[0] += 1; return bt
        r_b = rate(it, len(bt.data))
        print(f"(b) cached uint8 batches (shuffled, flipped), in-process gather: {r_b:,.0f} images/s  = {r_b / r_a:.0f}x (a)")
        r_bf = rate(lambda: (to_float(x) for x in it()), len(bt.data))
        print(f"(b') the same, plus to_float (uint8 -> float32 in [0, 1]): {r_bf:,.0f} images/s = {r_bf / r_a:.0f}x (a)")
        bt2 = Batches(ImageCache(folder, 'train'), a.batch_size, hflip=True, seed=0, num_workers=2)
        r_bw = rate(lambda: bt2, len(bt2.data))
        print(f"(b'') cached batches through 2 loader workers: {r_bw:,.0f} images/s")

if __name__ == '__main__': main()
