"""Rewards: the catalog, redeeming, codes at checkout, and `Customer.redemptions`.

Who may do what:
- the catalog (`rewards`, `reward`): any caller with rewards:read, customer tokens
  included; `affordableFor` with a token must name its own customer;
- catalog upkeep (`rewardCreate`/`rewardUpdate`/`rewardArchive`): API keys with
  rewards:write only;
- `rewardRedeem`, `redemptionCancel`: rewards:redeem, and a token only for itself;
- `redemptionUse` (the storefront at checkout): API keys with redemptions:use only;
- `redemption(code)`: API keys with redemptions:use, or the owning customer's token.
"""
