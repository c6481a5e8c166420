"""ckeras: Keras 2 compatible deep learning on the CPU, with C kernels.

Write Keras 2 code with ``keras`` replaced by ``ckeras``. The hot paths
(GEMM-backed Dense, activations, fused losses and optimizer updates) are
plain C kernels in ``src/kernels/``, bound by Cython in
``ckeras._kernels``.
"""
__version__ = "0.1.0"
