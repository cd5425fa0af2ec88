"""CSV exports of orders and donations: for staff (the filtered lists, the admin's
selected rows) and for each creator (their own sales and donations only). Small exports
stream; large ones are prepared by a worker (lavka/core/prepared_files.py)."""
