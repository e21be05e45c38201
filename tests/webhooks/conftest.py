"""The webhook tests' fixtures live in helpers.py beside their helper functions."""

from tests.webhooks.helpers import receiver, wh_settings

__all__ = ["receiver", "wh_settings"]
