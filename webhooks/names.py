"""The webhook event names, Masivo's and ours, and what each announces (README "Webhooks" and
the OpenAPI schema's `webhooks` document each body)."""

NAMES: dict[str, str] = {
    "CUSTOMER_REGISTRATION": "A customer was registered (its welcome rewards included in the wallet).",
    "CUSTOMER_ANONYMOUS_TO_REGISTERED": "An anonymous customer was identified (maybe under a new id).",
    "CUSTOMER_ACCUMULATION": "Rewards became spendable: an event was applied or a held one fulfilled.",
    "CUSTOMER_REDEMPTION": "Rewards were spent: an event's redemptions were taken from the wallet.",
    "REWARD_RESERVATION": "A held event (`fulfilled: false`) reserved what it redeems.",
    "REWARD_RESERVATION_CANCELLED": "A held event ended unfulfilled (reversed or expired): its reservations were released.",
    "BEHAVIOR_EVENT_FULFILLED": "An event became RESOLVED (applied at once, fulfilled, or processed by the worker).",
    "BEHAVIOR_EVENT_FAILED": "An event was refused and stored FAILED (nothing moved).",
    "BEHAVIOR_EVENT_REVERSED": "An event was reversed (REVERSED) or a held one cancelled (CANCELLED).",
    "BEHAVIOR_EVENT_EXPIRED": "A held event was not fulfilled within its reservation window (EXPIRED).",
    "TIER_UPGRADE": "A customer moved up a tier.",
    "TIER_DOWNGRADE": "A customer moved down a tier.",
    "REWARDS_EXPIRED": "Wallet lines reached their expiration date and were expired by the periodic task.",
    "REWARDS_EXPIRING": "Wallet lines expire within LOYALTY_EXPIRING_NOTICE_DAYS (announced once per line).",
    "COUPON_REDEMPTION": "A coupon code was redeemed (`POST /coupons/redeem`): the code, the lines granted, the wallet.",
    "COUPON_REVERSAL": "A coupon redemption was reversed: what it granted was taken back and the code's use freed.",
}
