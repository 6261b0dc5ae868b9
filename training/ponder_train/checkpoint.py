"""Checkpoints that training runs write as they go and resume from."""
import os

import torch


def resume(path, model, opt, device) -> int:
    """Loads model and optimizer state from `path` if it exists; returns the step reached."""
    if not os.path.exists(path):
        return 0
    ck = torch.load(path, map_location=device)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    print(f"resumed at step {ck['step']}", flush=True)
    return ck["step"]


def load_weights(path, model, device):
    """Loads a checkpoint's weights alone (any float dtype: packed runs keep float16) into
    `model`, which must have the same sizes."""
    ck = torch.load(path, map_location=device)
    model.load_state_dict(ck["model"])
    print(f"weights from {path} (step {ck.get('step', '?')})", flush=True)


def save(path, model, opt, step, config, args, **extra):
    """Writes atomically (a stop mid-write leaves the previous checkpoint intact). Without an
    optimizer (opt=None), the weights alone: what a run keeps of its best step."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    state = {"model": model.state_dict(), "step": step, "config": config.__dict__, "args": vars(args), **extra}
    if opt is not None:
        state["opt"] = opt.state_dict()
    torch.save(state, tmp)
    os.replace(tmp, path)


def weights_only(src, dst, half=False):
    """Copies checkpoint `src` to `dst` without its optimizer state; with `half`, its
    floating-point weights in float16 (load_weights reads them back)."""
    ck = torch.load(src, map_location="cpu")
    ck.pop("opt", None)
    if half:
        ck["model"] = {k: v.half() if v.is_floating_point() else v for k, v in ck["model"].items()}
    torch.save(ck, dst)
