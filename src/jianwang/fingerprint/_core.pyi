"""Types of the compiled core (`_core.pyx`)."""

import numpy as np
import numpy.typing as npt

def normalize_bmp(
    text: str,
    packed: npt.NDArray[np.uint32],
    code2: npt.NDArray[np.uint32],
    kind1: npt.NDArray[np.uint8],
    kind2: npt.NDArray[np.uint8],
    pow_: npt.NDArray[np.uint64],
    pairs: npt.NDArray[np.uint32],
) -> (
    tuple[
        npt.NDArray[np.uint64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.uint32],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
    ]
    | None
): ...
def kgram_hashes(ids: npt.NDArray[np.uint64], k: int, p: int) -> npt.NDArray[np.uint64]: ...
def winnow(hashes: npt.NDArray[np.uint64], w: int) -> npt.NDArray[np.int64]: ...
def lookup_segment(
    keys: npt.NDArray[np.uint64] | npt.NDArray[np.uint32],
    post: npt.NDArray[np.uint32],
    needles: npt.NDArray[np.uint64] | npt.NDArray[np.uint32],
    max_postings: int,
    fences: npt.NDArray[np.uint64] | npt.NDArray[np.uint32],
    stride: int,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.uint32]]: ...
def plausible_docs(
    doc: npt.NDArray[np.uint32],
    qpos: npt.NDArray[np.uint32],
    rpos: npt.NDArray[np.uint32],
    band_width: int,
    min_hits: int,
    max_docs: int,
) -> list[int]: ...
def chains(
    qpos: npt.NDArray[np.uint32],
    rpos: npt.NDArray[np.uint32],
    qfs: npt.NDArray[np.int64],
    rfs: npt.NDArray[np.int64],
    k: int,
    max_gap: int,
    drift: int,
) -> list[tuple[int, int, int, int, int]]: ...
def extend(qf: str, rf: str, q: int, r: int, step: int, max_len: int) -> tuple[int, int]: ...
def count_equal(qf: str, rf: str, start: int, stop: int, offset: int) -> int: ...
def local_maxima(
    mag: npt.NDArray[np.float32], floor: npt.NDArray[np.float32], dt: int, df: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def onset_emphasis(
    mag: npt.NDArray[np.float32],
    x0: npt.NDArray[np.float32],
    y0: npt.NDArray[np.float32],
    pole: float,
    mix: float,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
def gear_candidates(
    data: npt.NDArray[np.uint8], gear: npt.NDArray[np.uint32], mask: int
) -> npt.NDArray[np.int64]: ...
