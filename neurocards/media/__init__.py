"""Photos and videos on this host's disk, which is a cache (DESIGN §13).

``storage`` keeps files per job and sweeps old ones; ``local`` fetches what a
stage needs and this host lacks (the photo from Telegram, the video from KIE);
``result_urls`` decides which URLs a download may go to.  Imports the core only.
"""
