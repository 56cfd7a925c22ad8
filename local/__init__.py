"""Runs the product on one machine: moto for AWS state, the real Lambda handlers."""
