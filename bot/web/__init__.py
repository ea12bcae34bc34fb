"""The bot's web side, served by the bot process itself: server.py (one aiohttp server that several
modules mount routes on), auth.py (Telegram Mini App initData), desk.py (the officers' desk routes),
caseload.py (what the desk shows, as plain data) and static/ (the page: HTML, JS, CSS, no build step).
"""
