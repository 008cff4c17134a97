"""Webhooks: subscriptions, the deliveries the worker makes, re-sends (admin only).

The API only writes and reads rows; every HTTP request to a receiver is made by the
worker (`loyalty worker`, api/worker.py), so a slow receiver never slows the API.
"""
