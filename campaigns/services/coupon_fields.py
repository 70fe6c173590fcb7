"""What a COUPONS campaign must be (the coupons app sits above and redeems its codes): triggered
by COUPON_REDEMPTION, the event a redemption is recorded as, which triggers nothing else (the
running programme compiles BEHAVIOR campaigns only, so a coupon campaign never fires on other
events), and granting FIXED effects only: a redemption carries no order value or products to
count (`platform`, `order.store_id`, `order.channel_id` and `customer.*` are what its conditions
can read). A rule may carry a `requirement`, the text a redemption that does not meet its
conditions answers (campaigns.engine.validation)."""

COUPON_TRIGGER = "COUPON_REDEMPTION"


def coupon_errors(*, type: str, trigger: str, rules) -> dict[str, str]:
    errors: dict[str, str] = {}
    if type == "COUPONS" and trigger != COUPON_TRIGGER:
        errors["trigger"] = f"a COUPONS campaign is triggered by {COUPON_TRIGGER} (a code's redemption)"
    elif type != "COUPONS" and trigger == COUPON_TRIGGER:
        errors["trigger"] = f"{COUPON_TRIGGER} triggers COUPONS campaigns only"
    if type == "COUPONS" and isinstance(rules, list):
        for r_index, rule in enumerate(rules):
            for e_index, effect in enumerate((rule.get("effects") or []) if isinstance(rule, dict) else []):
                if isinstance(effect, dict) and effect.get("kind") not in (None, "FIXED"):
                    errors[f"rules[{r_index}].effects[{e_index}].kind"] = (
                        "a COUPONS campaign grants FIXED effects (a redemption has no order to count)"
                    )
    return errors
