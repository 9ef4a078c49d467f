"""The wallet: the page, /api/balance and /api/preferences, the holdings query, the presentation
shared by page and API, the page memo and the template filters."""
