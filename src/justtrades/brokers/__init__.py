"""Brokers behind one contract (base.py): the Tradovate adapter and the paper broker."""
