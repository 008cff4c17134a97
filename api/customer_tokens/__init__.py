"""Customer tokens: `customerTokenCreate` (storefront) and `me`."""
