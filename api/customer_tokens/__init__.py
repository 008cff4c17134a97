"""Customer tokens: `customerTokenCreate` (storefront); what a token reads is api/member."""
