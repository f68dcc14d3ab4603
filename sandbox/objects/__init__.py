"""Stripe's objects as the API serves them: one builder per object, and what they share.

Products and prices (``catalog``), coupons and discounts (``coupons``), customers and cards
(``people``), charges and decline codes (``payments``), ``refunds``, ``disputes``, invoices and
their lines (``invoices``), subscriptions and their items (``subscriptions``), events
(``events``) and webhook endpoints with their deliveries (``webhooks``); ``ids``, ``clock`` and
``shared`` (the constant nested values objects share, embedded lists) underneath. Nothing here
decides *when* anything happens: that is ``sandbox.sim``.
"""
