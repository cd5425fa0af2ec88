"""The "bought together" recommendations: which products paid orders held together.

When an order is paid, a background task records its products in a store
(`stores.py`): every ordered pair of its products counts one more order. The product
page reads the top N for its product, the cart page the sum over the cart's products;
both keep only products on sale (`selectors.py`). The store is Redis sorted sets when
Redis is configured, the database otherwise, behind one interface; recording is
idempotent per order, so a redelivered task, the periodic catch-up and a rebuild from
the paid orders (`services.py`, `manage.py rebuild_recommendations`) never count an
order twice. A rebuild replaces the counts at once (pages never see them empty), and a
Redis found empty is rebuilt in full by the catch-up.
"""
