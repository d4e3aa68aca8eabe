"""One BLAS thread per process.

The engine runs files in parallel, one core each, and the hashes' small matrix products gain
nothing from BLAS threads, which spin and burn the other cores (a query's crop windows took
4.3 CPU-s with OpenBLAS's threads and 0.08 s without). The variables are set before numpy
loads OpenBLAS; threadpoolctl limits it when numpy was loaded first.
`JIANWANG_BLAS_THREADS=0` leaves BLAS as it is.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
if os.environ.get("JIANWANG_BLAS_THREADS", "1") == "1":
    import threadpoolctl

    threadpoolctl.threadpool_limits(1)
