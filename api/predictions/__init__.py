"""Predicted value: `predictionModel`, `predictionCalibration` and `Customer.prediction`.

Who may do what: all three read with metrics:read. The fit is made by `loyalty
predict fit` and the worker's daily pass, never by a request; a request reads the
stored fit and each customer's stored statistics, and computes expected purchases and
CLV for the asked horizon from them (closed forms, domain/predictions/model.py).
"""
