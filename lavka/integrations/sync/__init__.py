"""Bookkeeping sync: what to send where, decided from what each side answers.

`goods` and `sales` are pure (adapter dataclasses in, plans and reports out); the
services that read and write rows and call the adapters are in `services`.
"""
