"""Predicted customer value: BG/NBD (will they buy again, how often) and Gamma-Gamma
(how much per purchase), fitted over the program's history as of a date.

`model` holds the mathematics (numpy/scipy, no database); `service` fits and stores
through the unit of work. docs/predictions.md explains the numbers."""
