from django.apps import AppConfig


class GiftcardsConfig(AppConfig):
    name = "giftcards"
    verbose_name = "Gift cards"

    def ready(self):
        from events import extensions
        from giftcards import granting

        extensions.grants_hook(granting.gift_cards_hand_out, result_parts=granting.PARTS)
        extensions.resolved_hook(granting.gift_cards_confirm)
        extensions.undone_hook(granting.gift_cards_take_back)
