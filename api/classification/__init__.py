"""Lifecycle stages and RFM: per customer and as summaries.

`Customer.lifecycleStage` and `Customer.rfm` go through DataLoaders keyed by
(customer, asOf[, lookbackDays]): a page of customers costs one statement per
field, whatever its size. The summaries need `metrics:read`.
"""
