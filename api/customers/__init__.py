"""Customers: the `Customer` type (assembled from every area's contributions),
`customer`/`customers`, and the profile mutations."""
