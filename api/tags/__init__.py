"""Tags: the type, `tags`/`tag`, tag and customer-tag mutations, `Customer.tags`."""
