"""Coupons: templates, issuing, checkout (validate, use), `Customer.coupons`, metrics.

Who may do what:
- templates (`couponTemplates`, `couponTemplate`): coupons:read; upkeep
  (`couponTemplateCreate`/`Update`/`Archive`) and issuing (`couponIssue`,
  `couponIssueBulk`): API keys with coupons:write (ADMIN);
- checkout (`couponValidate`, `couponUse`): API keys with coupons:use (STOREFRONT);
- `Customer.coupons`: coupons:read; a shopper reads its own in `me { coupons }`;
- `couponMetrics`: metrics:read.
Points buy coupons through `rewardRedeem` of a COUPON reward (api/rewards/).
"""
