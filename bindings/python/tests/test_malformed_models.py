"""Malformed and hostile model files: each must load to an error with a message, never a
crash. A crash here takes the test process down, which fails the run."""
import struct

import gguf
import numpy as np
import pytest

import ponder
from ponder import PonderError


def load_error(path):
    with pytest.raises(PonderError) as e:
        ponder.Model(path)
    assert e.value.status in ("bad model file", "i/o error")
    assert str(e.value)
    return str(e.value)


@pytest.fixture(scope="module")
def good(model_path):
    return model_path.read_bytes()


@pytest.fixture(scope="module")
def layout(model_path):
    return gguf.GGUFReader(model_path)


def write(tmp_path, data, name="bad.gguf"):
    p = tmp_path / name
    p.write_bytes(bytes(data))
    return p


def test_the_unmodified_file_loads(model_path):
    ponder.Model(model_path)


def test_truncation_everywhere(tmp_path, good, layout):
    # The file may end in padding after the last tensor; cutting that is harmless.
    end = max(t.data_offset + t.n_bytes for t in layout.tensors)
    cuts = {0, 3, 4, 8, 16, 23, 24, layout.data_offset - 1, layout.data_offset, end - 1}
    cuts |= {f.offset for f in layout.fields.values()} | {t.field.offset for t in layout.tensors}
    cuts |= {t.data_offset for t in layout.tensors}
    cuts |= set(range(0, len(good), max(1, len(good) // 60)))
    for cut in sorted(c for c in cuts if 0 <= c < end):
        load_error(write(tmp_path, good[:cut]))


def test_wrong_magic_and_version(tmp_path, good):
    assert "magic" in load_error(write(tmp_path, b"GGUX" + good[4:]))
    assert "version 2" in load_error(write(tmp_path, good[:4] + struct.pack("<I", 2) + good[8:]))


@pytest.mark.parametrize("field, value, words", [
    (8, 2 ** 63, "tensor count"),
    (8, 2 ** 40, "tensor count"),
    (16, 2 ** 64 - 1, "metadata count"),
    (16, 10 ** 9, "metadata count"),
])
def test_lying_counts(tmp_path, good, field, value, words):
    data = bytearray(good)
    data[field:field + 8] = struct.pack("<Q", value)
    assert words in load_error(write(tmp_path, data))


def part_offsets(field):
    out, pos = [], field.offset
    for p in field.parts:
        out.append(pos)
        pos += p.nbytes
    return out


def test_lying_string_and_array_lengths(tmp_path, good, layout):
    f = layout.fields["ponder.context_length"]
    data = bytearray(good)
    data[f.offset:f.offset + 8] = struct.pack("<Q", 2 ** 62)  # key length
    assert "exceeds the file" in load_error(write(tmp_path, data))
    v = layout.fields["ponder.vocab.tokens"]
    count_at = part_offsets(v)[4]  # key len, key, type, item type, count
    data = bytearray(good)
    data[count_at:count_at + 8] = struct.pack("<Q", 2 ** 61)
    assert "array length" in load_error(write(tmp_path, data))
    data = bytearray(good)
    data[part_offsets(v)[3]:part_offsets(v)[3] + 4] = struct.pack("<I", 99)
    assert "unknown array element type" in load_error(write(tmp_path, data))


def tensor_part(layout, name, index):
    t = next(t for t in layout.tensors if t.name == name)
    return part_offsets(t.field)[index], t


def test_lying_tensor_infos(tmp_path, good, layout):
    # parts: name length, name, dimension count, dimensions, type, offset
    at, t = tensor_part(layout, "blk.0.attn_q.weight", 5)
    cases = [
        (at, struct.pack("<Q", 2 ** 40), "past the end"),
        (at, struct.pack("<Q", 3), "not aligned"),
        (at, struct.pack("<Q", 2 ** 64 - 32), "past the end"),
    ]
    at_type, _ = tensor_part(layout, "blk.0.attn_q.weight", 4)
    cases += [(at_type, struct.pack("<I", 2), "unsupported type"),
              (at_type, struct.pack("<I", 0), "")]  # F32: bigger than its space or wrong role
    at_dims, _ = tensor_part(layout, "blk.0.attn_q.weight", 3)
    cases += [(at_dims, struct.pack("<Q", 2 ** 31 - 32), ""),
              (at_dims, struct.pack("<Q", 0), "dimension 0"),
              (at_dims + 8, struct.pack("<Q", 2 ** 63), "dimension")]
    at_n, _ = tensor_part(layout, "blk.0.attn_q.weight", 2)
    cases += [(at_n, struct.pack("<I", 9), "dimensions"), (at_n, struct.pack("<I", 0), "dimensions")]
    for offset, raw, words in cases:
        data = bytearray(good)
        data[offset:offset + len(raw)] = raw
        assert words in load_error(write(tmp_path, data))


def test_overlapping_tensors(tmp_path, good, layout):
    at, _ = tensor_part(layout, "blk.0.attn_k.weight", 5)
    _, q = tensor_part(layout, "blk.0.attn_q.weight", 5)
    rel = q.data_offset - layout.data_offset
    data = bytearray(good)
    data[at:at + 8] = struct.pack("<Q", rel)
    assert "overlap" in load_error(write(tmp_path, data))


def test_duplicate_tensor_name(tmp_path, good, layout):
    a, ta = tensor_part(layout, "blk.0.attn_q.weight", 1)
    b, tb = tensor_part(layout, "blk.0.attn_k.weight", 1)
    data = bytearray(good)
    data[b:b + len(ta.name)] = ta.name.encode()
    assert "duplicate tensor" in load_error(write(tmp_path, data))


# ---- Files that are well-formed GGUF but wrong as Ponder models -------------------------

def rewrite(src, dst, *, set_fields=None, drop_fields=(), drop_tensors=(), replace_tensors=None):
    """Copies a GGUF file through the gguf package's writer, changing what is asked."""
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(str(dst), "ponder")
    set_fields = dict(set_fields or {})
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.alignment"):
            continue
        if name in drop_fields:
            continue
        if name in set_fields:
            continue
        vtype = f.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_key_value(name, f.contents(), vtype, sub_type=f.types[-1])
        else:
            w.add_key_value(name, f.contents(), vtype)
    for name, (value, vtype) in set_fields.items():
        w.add_key_value(name, value, vtype, **({"sub_type": gguf.GGUFValueType.STRING} if vtype == gguf.GGUFValueType.ARRAY else {}))
    replace_tensors = replace_tensors or {}
    for t in r.tensors:
        if t.name in drop_tensors:
            continue
        if t.name in replace_tensors:
            w.add_tensor(t.name, replace_tensors[t.name])
            continue
        w.add_tensor(t.name, np.array(t.data), raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return dst


def test_rewrite_round_trip_loads(tmp_path, model_path):
    ponder.Model(rewrite(model_path, tmp_path / "same.gguf"))


S, U32, STR, ARR, F32 = (gguf.GGUFValueType.STRING, gguf.GGUFValueType.UINT32, gguf.GGUFValueType.STRING,
                         gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.FLOAT32)


@pytest.mark.parametrize("change, words", [
    (dict(drop_fields=["ponder.block_count"]), "ponder.block_count"),
    (dict(set_fields={"ponder.context_length": ("long", S)}), "must be an integer"),
    (dict(set_fields={"ponder.context_length": (100, U32)}), "context length"),
    (dict(set_fields={"ponder.embedding_length": (96, U32)}), "token_embd"),
    (dict(set_fields={"ponder.attention.head_count": (3, U32)}), "heads"),
    (dict(set_fields={"ponder.attention.head_count_kv": (3, U32)}), "multiple"),
    (dict(set_fields={"ponder.plan.grammar_version": (2, U32)}), "grammar version 2"),
    (dict(set_fields={"ponder.world.version": (2, U32)}), "world version 2"),
    (dict(set_fields={"ponder.world.version": ("1", S)}), "ponder.world.version"),
    (dict(drop_fields=["ponder.world.version"]), "ponder.world.version"),
    # Checked as a caller's scale is (0 to 100): -3 used to load as 0, which ignores the prompt.
    (dict(set_fields={"ponder.sampling.cfg_scale": (-3.0, F32)}), "cfg_scale -3.0 is out of range (0 to 100"),
    (dict(set_fields={"ponder.sampling.cfg_scale": (1000.0, F32)}), "cfg_scale 1000.0 is out of range"),
    (dict(set_fields={"ponder.sampling.cfg_scale": (float("inf"), F32)}), "finite"),
    # A finite double that single precision holds only as infinity.
    (dict(set_fields={"ponder.rope.freq_base": (1e300, gguf.GGUFValueType.FLOAT64)}), "single precision"),
    (dict(set_fields={"ponder.attention.layer_norm_rms_epsilon": (float("nan"), F32)}), "finite"),
    (dict(set_fields={"ponder.image.codebook_size": (2 ** 31, U32)}), "codebook_size"),
    (dict(set_fields={"ponder.image.grid_width": (8, U32)}), "decoder"),
    (dict(set_fields={"ponder.image.width": (100, U32)}), "grid"),
    (dict(set_fields={"ponder.vocab.tokens": (["<bos>", "a"], ARR)}), "lacks"),
    (dict(set_fields={"ponder.vocab.tokens": (["<bos>", "<bos>"], ARR)}), "twice"),
    (dict(set_fields={"ponder.decoder.ops": (["conv in", "explode"], ARR)}), "explode"),
    (dict(set_fields={"ponder.decoder.ops": (["conv in", "add"], ARR)}), "saved"),
    (dict(set_fields={"ponder.decoder.ops": (["conv in", "silu"], ARR)}), "grid does not match"),
    (dict(set_fields={"ponder.decoder.ops": (["conv in", "conv out"], ARR)}), "channels"),
    (dict(set_fields={"ponder.decoder.ops": (["conv in stride 2"], ARR)}), "k − stride even"),
    (dict(set_fields={"ponder.decoder.ops": (["conv in stride 3"], ARR)}), "stride must be 1 or 2"),
    (dict(set_fields={"ponder.decoder.ops": (["conv in stride"], ARR)}), "unknown operation"),
    (dict(set_fields={"ponder.encoder.ops": (["conv in"], ARR)}), "'enc.in.weight'"),
    (dict(set_fields={"ponder.encoder.ops": (["silu"], ARR)}), "encoder ends with 3×128×128"),
    (dict(set_fields={"general.architecture": ("llama", S)}), "architecture"),
    (dict(drop_tensors=["blk.1.ffn_down.weight"]), "blk.1.ffn_down.weight"),
    (dict(drop_tensors=["dec.up1.bias"]), "dec.up1.bias"),
    (dict(replace_tensors={"blk.0.attn_q.weight": np.zeros((64, 64), np.float32)}), "type"),
    (dict(replace_tensors={"output_norm.weight": np.zeros(32, np.float32)}), "output_norm"),
    (dict(replace_tensors={"vq.codebook": np.zeros((10, 16), np.float32)}), "vq.codebook"),
    (dict(replace_tensors={"dec.in.weight": np.zeros((32, 8, 3, 3), np.float32)}), "channels"),
])
def test_wrong_models(tmp_path, model_path, change, words):
    if "general.architecture" in change.get("set_fields", {}):
        # The writer always sets general.architecture from its own argument; patch the bytes.
        data = bytearray(model_path.read_bytes())
        i = data.find(b"ponder", 24)
        data[i:i + 6] = b"llamax"
        assert "architecture" in load_error(write(tmp_path, data))
        return
    assert words in load_error(rewrite(model_path, tmp_path / "wrong.gguf", **change))


def test_not_a_regular_file(tmp_path):
    assert "regular file" in load_error(tmp_path)


def test_random_bytes_never_crash(tmp_path, good):
    rng = np.random.default_rng(0)
    data = np.frombuffer(good, np.uint8).copy()
    header_end = 6000
    for i in range(150):
        d = data.copy()
        idx = rng.integers(0, header_end, size=rng.integers(1, 8))
        d[idx] = rng.integers(0, 256, size=idx.size)
        p = write(tmp_path, d.tobytes(), f"fuzz{i}.gguf")
        try:
            ponder.Model(p).close()
        except PonderError:
            pass


def test_a_decoder_too_large_to_allocate_is_an_error(tmp_path, model_path):
    # A valid file (2.4 MB) whose decoder asks for 65,536 channels at 4096 x 4096: 4 TB of
    # activations. Loading succeeds (nothing that large is allocated then); decoding must
    # report that the memory cannot be had, not abort.
    half = np.float16
    r = gguf.GGUFReader(model_path)
    old_ops = r.fields["ponder.decoder.ops"].contents()
    out_channels = next(t for t in r.tensors if t.name == "dec.out.bias").shape[0]
    ops = ["conv in"] + ["upsample"] * 8 + old_ops[old_ops.index("conv out"):]
    path = rewrite(model_path, tmp_path / "huge-decoder.gguf", set_fields={
        "ponder.image.width": (4096, U32), "ponder.image.height": (4096, U32),
        "ponder.decoder.ops": (ops, ARR),
    }, replace_tensors={"dec.in.weight": np.zeros((65536, 16, 1, 1), half),
                         "dec.in.bias": np.zeros(65536, half),
                         "dec.out.weight": np.zeros((out_channels, 65536, 1, 1), half)})
    model = ponder.Model(path)
    assert model.info["image_width"] == 4096
    with model.session(seed=1) as s:
        s.plan("a red circle")
        s.step(256)
        with pytest.raises(PonderError) as e:
            s.decode()
    assert e.value.status == "out of memory"
    assert "allocate" in str(e.value)
    model.close()


def test_a_file_guidance_scale_in_range_is_the_default(tmp_path, model_path):
    path = rewrite(model_path, tmp_path / "cfg.gguf", set_fields={"ponder.sampling.cfg_scale": (2.5, F32)})
    assert ponder.Model(path).info["default_cfg_scale"] == 2.5
