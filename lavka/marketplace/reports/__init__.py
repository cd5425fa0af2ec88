"""Sales reports: revenue, orders, refunds, donations and top products per day, week or
month, for staff (the whole shop) and for each creator (their own sales only)."""
