"""Thin, typed clients for KIE.AI, OpenAI and Telegram; they know nothing of jobs or credits."""
