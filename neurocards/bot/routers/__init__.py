"""One router per feature, composed in :func:`neurocards.bot.app.build_dispatcher`."""
