"""Accounts: creating and finding them, their saved settings, sign-in and sign-out."""
