"""Files the bot hands to people: the application document (.docx), the case timeline (.png) and the
deadline calendar (.ics).

Why here, inside bot/ and not in dialogs/: every builder renders texts to a language with bot.i18n,
which dialogs/ must not import (dialogs hold texts unresolved). Why not in bot/app.py: none of these
modules imports Telegram — they take plain data (a policy, answers, clock events) and return bytes, so
the Telegram edge, the console, the officers' side and the tests all call the same functions.
"""
