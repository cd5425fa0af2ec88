"""Orders of the shop: coupons, checkout, stock holds, payments and the order pages.

Layered like an app (models in lavka/marketplace/models.py ← services / selectors ←
actions ← forms ← views / api ← urls), checked by import-linter.
"""
