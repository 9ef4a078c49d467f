"""The customer's activity: their balance journal, newest first, on a page and as JSON."""
