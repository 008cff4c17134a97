"""Journeys: upkeep and status changes, the list, and a customer's runs.

Who may do what:
- `journeys`, `journey`, `Customer.journeyRuns`: journeys:read (ADMIN, ANALYST);
- `journeyCreate`/`Update`/`Activate`/`Pause`/`Resume`/`Archive`: API keys with
  journeys:write (ADMIN).
"""
