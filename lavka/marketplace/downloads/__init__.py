"""Signed, expiring download links of paid orders' digital items."""
