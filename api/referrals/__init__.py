"""Referrals: `referralRecord` (partners, storefronts), `referrals` (admin), and a
customer's code, referrals and referrer."""
