"""Command-line options that several training scripts share, defined once."""
import argparse

import torch


def add_bf16(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--bf16", type=int, default=-1, help="bf16 autocast (default: on CUDA only)")


def autocast(args: argparse.Namespace, device: torch.device) -> dict:
    """Keyword arguments for torch.autocast from --bf16: on when asked, else on CUDA only."""
    on = args.bf16 if args.bf16 >= 0 else device.type == "cuda"
    return dict(device_type=device.type, dtype=torch.bfloat16, enabled=bool(on))


def add_reconstruction_loss(ap: argparse.ArgumentParser) -> None:
    """The options of vq_autoencoder.reconstruction_loss that the VQ trainers expose."""
    ap.add_argument("--outline-weight", type=float, default=0.0, help="extra loss weight on object outlines")
    ap.add_argument("--stray-weight", type=float, default=0.0, help="loss weight on palette colours from nowhere (specks)")
    ap.add_argument("--pure-classes", action="store_true", help="the colour-class loss on pure pixels only, not on blends")
