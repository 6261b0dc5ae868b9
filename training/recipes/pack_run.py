"""Copy what a training run made into a small folder to take away: the model file, the
tokenizer's best weights and the continued decoder (weights only), the transformer's
weights in float16 (to continue or re-export it), and the logs. At the shipped sizes each
file stays under 16 MB, the most a lent GPU machine hands back per file (the transformer's
float16 weights, the largest, are 14.9 MB).

    python training/recipes/pack_run.py RUN_DIR DEST_DIR
"""
import argparse
import glob
import os
import shutil
import tarfile

from ponder_train.checkpoint import weights_only


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", metavar="RUN_DIR", help="the OUT_DIR of run_all.sh")
    ap.add_argument("dest", metavar="DEST_DIR")
    args = ap.parse_args()
    run, dest = args.run, args.dest
    os.makedirs(dest, exist_ok=True)
    jobs = [("tokenizer-best.pt", "tokenizer.pt", False), ("transformer.pt", "transformer-f16.pt", True)]
    jobs += [(os.path.relpath(p, run), "decoder.pt", False) for p in glob.glob(os.path.join(run, "decoder", "*.pt"))]
    for src, dst, half in jobs:
        if os.path.exists(os.path.join(run, src)):
            weights_only(os.path.join(run, src), os.path.join(dest, dst), half)
    for name in ("ponder-shapes-q8_0.gguf", "transformer-q8_0.gguf"):  # the relinked one if there is one
        if os.path.exists(os.path.join(run, name)):
            shutil.copy(os.path.join(run, name), dest)
            break
    with tarfile.open(os.path.join(dest, "logs.tgz"), "w:gz") as tar:
        for log in glob.glob(os.path.join(run, "*.log")):
            tar.add(log, arcname=os.path.basename(log))
    for name in sorted(os.listdir(dest)):
        print(f"{name}: {os.path.getsize(os.path.join(dest, name)) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
