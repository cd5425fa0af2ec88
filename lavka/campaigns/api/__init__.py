"""REST API for campaigns under /api/v1/campaigns/: recipients, lists, messages,
mailings with their actions, runs and deliveries.

Views read through `selectors` (another owner's object is simply not there: 404) and
write through `services` (the API and the pages validate and schedule the same way).
"""
