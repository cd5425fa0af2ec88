"""Campaign pages, one module per area: audience, messages, mailings."""
