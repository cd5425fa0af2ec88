"""Campaign forms, one module per area: audience, messages, mailings."""
