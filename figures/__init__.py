"""eqprop.figures: figures drawn from saved verification reports.

Not written yet (issue 4): this package is reserved so that the layout
symbolic -> numeric -> proofs -> figures is in place.
"""
