"""Invoices: a PDF per paid order, numbered without gaps per calendar year, issued in the
transaction that marks the order paid, attached to the "paid" email and downloadable
by the customer and staff."""
