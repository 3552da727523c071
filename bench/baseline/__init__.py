"""The hand-written layered path, frozen as the baseline of bench/scale.py.

Until the array models of issue 22, ``eqprop scale`` evaluated the layered
Hopfield network through hand-written numpy (``numeric/layered.py``,
``numeric/layered_fast.py``: stacked real/imaginary GEMMs, dual-number
activations, buffer reuse, Gram-matrix comparisons) and ran Theorem 3 with
the split-complex loop of ``proofs/scale.py``. That path was retired once
the code generated from the array model reached its speed on W1; these
files are copies of it as it was at commit 7666406 (only their import lines
changed), kept so that the benchmark measures the generated path against it
in the same run. Nothing in the package imports them.
"""
