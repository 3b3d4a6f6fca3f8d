"""The Telegram side: routers per feature, keyboards, texts, the entry point."""
