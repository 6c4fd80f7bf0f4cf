"""The wire format between the graders and the worker: a tree of plain values, no pickle.

A frame is a JSON header describing a tree of dicts (string keys), lists, tuples, scalars and
strings whose array leaves follow as ``.npy`` blobs, loaded with ``allow_pickle=False`` and
refused unless numeric or boolean. Nothing that crosses is ever executed or unpickled.

Both ends use this one file: the graders import it; inside the student's kernel its text is
executed (before any student cell runs) as the module the worker is handed. So it must stay
self-contained: the standard library and numpy (jax only to recognise its arrays).
"""

import io
import json
import struct

import numpy as np

# Captured before student code runs: later patches of these modules cannot reach them.
_np_save = np.save
_np_load = np.load
_np_asarray = np.asarray
_json_dumps = json.dumps
_json_loads = json.loads
_pack = struct.pack
_unpack = struct.unpack

MAX_FRAME_BYTES = 1 << 30  # a reply larger than 1 GiB is refused, not buffered


def _to_header(obj, blobs):
    if isinstance(obj, np.ndarray) or type(obj).__module__.startswith(("jax", "jaxlib")):
        arr = _as_numpy(obj)
        buf = io.BytesIO()
        _np_save(buf, arr, allow_pickle=False)
        blobs.append(buf.getvalue())
        return {"a": len(blobs) - 1}
    if isinstance(obj, np.generic):
        return _to_header(_np_asarray(obj), blobs)
    if obj is None or isinstance(obj, (bool, int, str)):
        return {"v": obj}
    if isinstance(obj, float):
        return {"f": repr(obj)}  # repr keeps nan/inf, which JSON cannot
    if isinstance(obj, tuple):
        return {"t": [_to_header(x, blobs) for x in obj]}
    if isinstance(obj, list):
        return {"l": [_to_header(x, blobs) for x in obj]}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("only dicts with string keys can cross to the grader")
        return {"d": {k: _to_header(v, blobs) for k, v in obj.items()}}
    raise TypeError(f"a value of type {type(obj).__name__} cannot cross to the grader")


def _as_numpy(x):
    try:
        import jax

        if hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
    except ImportError:
        pass
    return _np_asarray(x)


def _from_header(node, blobs):
    (kind, val), = node.items()
    if kind == "a":
        arr = _np_load(io.BytesIO(blobs[val]), allow_pickle=False)
        if arr.dtype.kind not in "biufc":
            raise ValueError(f"refusing an array of dtype {arr.dtype}")
        return arr
    if kind == "v":
        return val
    if kind == "f":
        return float(val)
    if kind == "t":
        return tuple(_from_header(x, blobs) for x in val)
    if kind == "l":
        return [_from_header(x, blobs) for x in val]
    if kind == "d":
        return {k: _from_header(v, blobs) for k, v in val.items()}
    raise ValueError(f"unknown node kind {kind!r}")


def encode(tree):
    """Serialise a tree of dicts/lists/tuples/scalars/arrays to bytes (no pickle)."""
    blobs = []
    header = _json_dumps(_to_header(tree, blobs)).encode()
    parts = [_pack("!QI", len(header), len(blobs)), header]
    for b in blobs:
        parts += [_pack("!Q", len(b)), b]
    return b"".join(parts)


def decode(data):
    """Inverse of ``encode``; arrays are loaded with ``allow_pickle=False``."""
    hlen, nblobs = _unpack("!QI", data[:12])
    pos = 12 + hlen
    header = _json_loads(data[12:pos].decode())
    blobs = []
    for _ in range(nblobs):
        (blen,) = _unpack("!Q", data[pos:pos + 8])
        blobs.append(data[pos + 8:pos + 8 + blen])
        pos += 8 + blen
    return _from_header(header, blobs)


def send_frame(sock, tree):
    payload = encode(tree)
    sock.sendall(_pack("!Q", len(payload)) + payload)


def recv_frame(sock):
    (size,) = _unpack("!Q", _recv_exact(sock, 8))
    if size > MAX_FRAME_BYTES:
        raise ValueError(f"frame of {size} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    return decode(_recv_exact(sock, size))


def _recv_exact(sock, n):
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise ConnectionError("the other side closed the channel")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
