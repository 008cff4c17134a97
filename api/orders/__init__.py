"""Orders: `orderRecord`, `ordersRecordBulk`, `orderRefund`, `order`, and
`Customer.orders`."""
