"""The English catalogue (for ``language_code`` en)."""

TEXTS = {
    # /start, /help
    "start": (
        "Hi! I turn a product photo into a short vertical promo video.\n"
        "1. Send a photo of the product with a line about it as the caption.\n"
        "2. Get the video in 4-5 minutes. One video costs {price} cr.; you have {balance} cr."
    ),
    "start.welcome": "🎁 Here are {credits} free credits for your first videos.",
    "help": (
        "<b>How it works</b>\n"
        "Send a product photo (JPG, PNG or WebP, at least 256 px, up to 20 MB) with a caption saying "
        "what it is and why it's good. Without a caption I'll ask for one. The video is ready in 4-5 minutes.\n\n"
        "One video costs {price} cr. If a video fails, the credit comes back by itself.\n\n"
        "/buy — buy credits with Telegram Stars\n"
        "/balance — balance and recent movements\n"
        "/history — your last 10 videos\n"
        "/options — format (9:16, 1:1, 16:9) and quality; a higher quality costs more\n"
        "/lang — language\n"
        "/cancel — cancel what you're typing\n"
        "/terms — terms · /paysupport — payment support\n"
        "Questions: {support}"
    ),
    "lang.choose": "Choose your language:",
    "lang.set": "Done, English it is.",
    "cancel.done": "Cancelled. Send a product photo whenever you're ready.",
    "cancel.nothing": "Nothing to cancel. Send a product photo to start.",
    "unknown_command": "I don't know that command. /help shows what I can do.",
    "send_photo": "Send a product photo with a caption and I'll make a video.",

    # the photo flow
    "ask_info": "Nice photo! In one line, what is the product and why is it good? Or press Skip. "
                "You can also send up to 2 more photos of it from other sides.",
    "photo.added": "Photo {count} of {most} added. Send another, or write the description (or press Skip).",
    "photo.full": "That's already {most} photos of this product, the most one video takes. Now write the description, or press Skip.",
    "photo.duplicate": "You already sent this photo. Send another side of the product, or write the description.",
    "photos.first_only": "The {tier} tier films from one photo, so the first of your {count} is used.",
    "photos.first_only.other": "The {other} tier uses them all (/options).",
    "album.too_many": "An album holds at most {most} items. Send up to {most} photos.",
    "album.videos_only": "I don't take videos. Send product photos and I'll make the video.",
    "album.no_photos": "None of these files is a photo I can use. Send product photos as JPG, PNG or WebP.",
    "album.left_out.videos": "Videos left out: {count} (I make videos from photos).",
    "album.left_out.others": "Files that are not images left out: {count}.",
    "album.left_out.small": "Photos left out for being under 256 px a side or over 20 MB: {count}.",
    "album.left_out.duplicates": "Repeated photos left out: {count}.",
    "album.first_three": "One video is made from up to {most} photos of one product; I'm using the first {most} of your {count}.",
    "style.ask": "Pick a look for the video: one tap starts it ({price} cr.).",
    "style.none": "No style",
    "style.picked": "Look: {style}.",
    "style.stale": "This is a picker for an earlier photo. Send the photo again to make a video.",
    "style.waiting": "Tap a look above to start the video, or send another photo.",
    "moderation.refused": "Nothing was charged: the description didn't pass the safety check ({what}). "
                          "Write it again without that, or press Skip to go by the photo alone.",
    "moderation.violence": "violence",
    "moderation.illicit": "weapons, drugs or other illegal goods",
    "moderation.hate": "hate",
    "moderation.harassment": "harassment or threats",
    "moderation.sexual": "sexual content",
    "moderation.self-harm": "self-harm",
    "moderation.other": "content against the rules",
    "button.ideas": "💡 Suggest ideas",
    "ideas.thinking": "💡 Thinking of three ideas for this product…",
    "ideas.pick": "Three ideas for the video:\n{ideas}\nTap one to start it ({price} cr.), or pick a look.",
    "ideas.unavailable": "No ideas right now. Pick a look instead: one tap starts the video ({price} cr.).",
    "idea.picked": "Idea: {idea}.",
    "button.several": "🎞 Several videos",
    "batch.how_many": "How many videos of this product, each in another look?",
    "batch.several": "{count} videos of this product, each in another look.",
    "batch.offer.album": "{count} photos: one video for each product? {count} × {price} cr. = {total} cr. You have {balance} cr.",
    "batch.offer.looks": "{count} videos ({looks}): {count} × {price} cr. = {total} cr. You have {balance} cr.",
    "batch.confirm": "✅ Make {count} videos · {total} cr.",
    "batch.as_one": "One product: use the first 3 photos",
    "batch.no_credits": "Not enough credits for all of them: {total} cr. needed, you have {balance} cr. Nothing was charged. Top up, then press “Make” again.",
    "batch.price_changed": "The price changed since this offer. Here it is again:",
    "batch.caption_refused": "I didn't make these videos.",
    "batch.started": "Making {count} videos, {total} cr. charged. Each comes as it's ready.",
    "batch.summary": "🎞 {done} of {size} videos ready.",
    "batch.summary.failed": "{failed} couldn't be made; their credits are back.",
    "batch.summary.ended": "All done.",
    "batch.all_refused": "Nothing was charged: the video writer won't work with these photos (they may show something against the content rules). Send other photos: the products alone, clearly lit, no people.",
    "batch.some_refused": "Left out of the batch and not charged: No. {numbers}. The video writer won't work with those photos (they may show something against the content rules). Send another photo of each such product on its own.",
    "batch.already": "These videos are already being made.",
    "batch.stale": "This offer is no longer open. Send the photos again.",
    "status.batch_waiting": "🕒 In line behind your other videos.",
    "photo.refused": "Nothing was charged: the video writer won't work with this photo (it may show something against the content rules). Send another photo: the product alone, clearly lit, no people.",
    "album.late": "This photo came after its album was already taken. Send it again on its own if you need it.",
    "ask_info.waiting": "I'm waiting for a one-line product description, or press Skip. /cancel to cancel.",
    "info_too_long": "The description is too long: {length} characters, the limit is {limit}. Please shorten it.",
    "info_empty": "The description is empty. Write a few words about the product or press Skip.",
    "photo.wrong_type": "That's not a photo. Send a product image as JPG, PNG or WebP.",
    "photo.video": "I don't take videos — send a product photo and I'll make the video.",
    "photo.sticker": "Stickers won't do 🙂 Send a product photo.",
    "photo.voice": "I can't understand voice messages. Send a product photo with a text caption.",
    "photo.too_big": "The file is too big ({size_mb} MB). Send a photo up to 20 MB.",
    "photo.too_small": "The photo is too small ({width}×{height}). It must be at least 256 px on each side.",
    "photo.too_large_image": "This image is far too large to handle. Send a regular product photo (up to 20 MB, a few thousand pixels a side).",
    "photo.unreadable": "I can't open this image. Send a photo as JPG, PNG or WebP.",
    "too_many_jobs": "{in_flight} of your videos are already in the works — that's the maximum. Wait for one to finish.",
    "throttled": "Too fast 🙂 Wait a couple of seconds.",

    # the status message
    "status.created": "⏳ Got it! Preparing a video for “{info}”.",
    "status.enhancing": "✍️ Writing the video script for “{info}”…",
    "status.generating": "🎬 Filming the video for “{info}” — this takes 4-5 minutes.",
    "status.safety_retry": "🛡 The video service refused the first script on its content rules; trying once more with a safer one, free.",
    "status.downloading": "📥 The video is ready, fetching it…",
    "status.finishing": "✂️ Making it {format}…",
    "status.delivering": "📤 Sending the video…",
    "status.done": "✅ Done! The video for “{info}” is below.",
    "status.failed": "❌ Couldn't make the video for “{info}”. Your credit is back.",
    "no_info": "your product",

    # the video
    "video.caption": "🎬 “{info}”\n{balance} cr. left.",
    "video.link": (
        "The video is {size_mb} MB, more than Telegram lets a bot send, so here is a link to download it "
        "(it works for {days} days; /history gives a new one):\n{url}"
    ),

    # failures (what happened and what to do; the credit is always back)
    "failure.content_policy": (
        "The video service refused this photo or description under its content rules. Your credit is back.\n"
        "Try another photo or a plainer description: no people, logos or bold claims."
    ),
    "failure.photo_rejected": (
        "The video service couldn't read this photo. Your credit is back.\n"
        "Send a clear product photo as JPG or PNG."
    ),
    "failure.generation_failed": (
        "The video service failed to make this video. Your credit is back.\n"
        "Press Try again — a second attempt usually works."
    ),
    "failure.paused": (
        "The video service is paused on our side and your video couldn't start in time. Your credit is back — sorry.\n"
        "Try again in a little while."
    ),
    "failure.busy": (
        "The video service is overloaded right now and we ran out of time. Your credit is back.\n"
        "Try again in a few minutes."
    ),
    "failure.video": (
        "The video was made but couldn't be delivered. Your credit is back.\n"
        "Press Try again."
    ),
    "failure.photo_missing": "We couldn't get your photo from Telegram any more. Your credit is back.\nPlease send the photo again.",
    "failure.system": (
        "Something broke on our side. Your credit is back and we're on it.\n"
        "Try again later or message {support}."
    ),

    # buttons
    "button.again": "🔁 Generate again",
    "button.try_again": "🔁 Try again",
    "button.skip": "Skip",

    # callbacks
    "callback.started": "Starting!",
    "callback.already": "Already started.",
    "callback.not_yours": "That's not your video.",
    "callback.unknown": "This button has expired.",
    "callback.no_photo": "This job's photo is no longer available. Please send it again.",
    "callback.resent": "Sending it again.",

    # /balance, /history
    "balance": "Balance: {balance} cr. One video costs {price} cr.",
    "balance.movements": "Recent movements:",
    "balance.none": "No movements yet.",
    "ledger.welcome": "welcome gift",
    "ledger.grant": "grant",
    "ledger.purchase": "purchase",
    "ledger.debit": "video",
    "ledger.refund": "refund",
    "ledger.refund_reversal": "refund taken back: the video was delivered",
    "history.line": "{number}. {date} — {status} — {info}",
    "history.resend": "📹 {number}",
    "balance.line": "{date} {amount} — {label}",
    "history.title": "Your last videos:",
    "history.empty": "No videos yet. Send a product photo!",
    "job.status.created": "queued",
    "job.status.enhancing": "writing the script",
    "job.status.generating": "filming",
    "job.status.downloading": "fetching",
    "job.status.finishing": "finishing",
    "job.status.delivering": "sending",
    "job.status.done": "done",
    "job.status.failed": "failed",

    # the command menu (setMyCommands), in menu order
    "command.start": "Start",
    "command.help": "How it works",
    "command.balance": "Balance",
    "command.history": "My videos",
    "command.options": "Format and quality",
    "command.lang": "Language",
    "command.cancel": "Cancel",
    "command.buy": "Buy credits",
    "command.subscription": "Monthly plan",
    "command.promo": "Promo code",
    "command.invite": "Invite sellers",
    "command.paysupport": "Payment support",
    "command.terms": "Terms",

    # referrals (/invite, /start ref_<code>)
    "invite": "🤝 Invite other sellers with your link:\n{link}\n\nWhen a seller who joined by it makes a first purchase, you get +{bonus} cr. (up to {cap} bonuses a month). Nothing is given for sign-ups alone, and your own link does nothing for you.",
    "invite.so_far": "So far {joined} joined by your link; {bonuses} of them bought credits, bringing you {credits} cr.",
    "invite.month_full": "You have had all {cap} bonuses this month: sellers who join now still count, but their first purchase brings no bonus until next month.",
    "invite.off": "There is no invitation programme at the moment.",
    "referral.attached": "🤝 You joined by a seller's invitation: welcome! They get a thank-you bonus when you make your first purchase; nothing changes in your prices.",
    "referral.self": "That is your own invitation link: send it to other sellers. You get +{bonus} cr. when one of them makes a first purchase.",
    "referral.unknown": "This invitation link is not valid (maybe it was cut short when copied). You can use the bot all the same; ask whoever sent it for the link again if it matters to them.",
    "referral.existing": "Invitation links are for new sellers: you already had an account here, so this one changes nothing. Everything else works as usual.",
    "referral.bonus": "🎉 A seller you invited made their first purchase: +{credits} cr. Your balance: {balance} cr.",

    # the monthly plan (/subscription)
    "subscription.offer": "📅 Monthly plan: {credits} cr. every month for ⭐{stars}, renewed by Telegram until you cancel. Cancel any time here with /subscription: the month you paid for runs to its end, and nothing more is charged.",
    "subscription.offer.expire": "A month's unused plan credits expire when the next month begins (credits you buy in packs never expire; plan credits are spent first).",
    "subscription.offer.rollover": "Unused plan credits carry over to the next month.",
    "subscription.button.subscribe": "Subscribe for ⭐{stars} a month",
    "subscription.button.cancel": "Cancel the plan",
    "subscription.button.resume": "Keep the plan",
    "subscription.invoice.title": "Monthly plan: {credits} credits",
    "subscription.invoice.description": "{credits} credits every month for Neurocards promo videos (one video costs {price} cr.), renewed until you cancel.",
    "subscription.invoice.label": "{credits} credits a month",
    "subscription.active": "📅 Your monthly plan: {credits} cr. a month for ⭐{stars}. Next renewal: {renews}.",
    "subscription.cancelled": "📅 Your plan is cancelled: your {credits} cr. for this month stay until {until}, and nothing more will be charged. Changed your mind? Keep it with the button below.",
    "subscription.ended": "Your monthly plan has ended. Send /subscription to start a new one.",
    "subscription.off": "There is no monthly plan on sale at the moment. Credits come in packs: /buy.",
    "subscription.not_yours": "This button isn't for your plan. Send /subscription to see yours.",
    "subscription.stale": "This message is out of date: here is your plan as it is now.",
    "subscription.change_failed": "Telegram didn't accept the change just now; nothing changed. Please try again in a minute.",
    "subscription.receipt.first": "✅ Subscribed: ⭐{stars} for {credits} cr. this month.\nNext renewal: {renews}. Balance: {balance} cr. Thank you!",
    "subscription.receipt.renewal": "✅ Your plan renewed: ⭐{stars} for {credits} cr. this month.\nNext renewal: {renews}. Balance: {balance} cr.",
    "subscription.receipt.expired": "{credits} unused cr. from last month expired.",
    "subscription.renewal_refunded": "Telegram charged ⭐{stars} for a monthly plan you had cancelled (the charge crossed your cancellation). Nothing was credited, and the Stars are on their way back to you: nothing for you to do.",
    "subscription.renewal_refused": "Telegram charged ⭐{stars} for a monthly plan you had cancelled, so we credited nothing. Write to {support} with this code and your Stars will be returned: {charge_id}",
    "subscription.refused.expired": "This subscription link has expired. Send /subscription for a fresh one — nothing was charged.",
    "subscription.refused.unknown_pack": "This plan is no longer sold on these terms. Send /subscription to see the current plan — nothing was charged.",

    # promo codes (/promo CODE)
    "promo.usage": "Send your promo code like this: /promo SPRING",
    "promo.redeemed": "🎁 Promo code {code}: +{credits} cr. Your balance: {balance} cr.",
    "promo.unknown": "There is no promo code {code}. Check the spelling (letters and digits, no spaces) and send it again: /promo CODE",
    "promo.already": "You have already used the promo code {code}: each code works once per account.",
    "promo.expired": "The promo code {code} has expired. Watch our channel for new ones, or top up with /buy.",
    "promo.used_up": "The promo code {code} has been used by as many people as it could. Top up with /buy, or wait for the next code.",

    # a handler failed unexpectedly
    "error.internal": "Something went wrong on our side. Please try again in a minute; if it keeps happening, write to {support}.",

    # buying credits with Telegram Stars
    "no_credits": "Not enough credits: you have {balance} cr., a video costs {price} cr.\nTop up with Telegram Stars below, or /buy.",
    "no_credits.kept": "Not enough credits: you have {balance} cr., a video costs {price} cr.\nI've kept your request for “{info}” for {minutes} min: top up below and the video starts by itself — no need to send the photo again.",
    "buy.title": "Buy credits with Telegram Stars. One video costs {price} cr.",
    "buy.pack": "{credits} cr. — ⭐{stars} ({per_video} ⭐ per video)",
    "button.buy": "⭐ Buy credits",
    "invoice.title": "{credits} video credits",
    "invoice.description": "{credits} credits for Neurocards promo videos: one video costs {price} cr.",
    "invoice.label": "{credits} credits",
    "pay.refused.forged": "This invoice isn't valid. Please open /buy and choose a pack again.",
    "pay.refused.not_yours": "This invoice was made for another account. Open /buy to get your own.",
    "pay.refused.expired": "This invoice has expired. Open /buy and choose a pack again — nothing was charged.",
    "pay.refused.unknown_pack": "This pack is no longer sold. Open /buy to see the current packs.",
    "pay.refused.amount": "The amount doesn't match this invoice. Open /buy and try again — nothing was charged.",
    "pay.receipt": "✅ Payment received: ⭐{stars} for {credits} cr.\nBalance: {balance} cr. Thank you!",
    "pay.receipt.continue": "Starting your video for “{info}” now.",
    "pay.delayed": "We received your payment of ⭐{stars}, but recording it is taking longer than usual on our side. Nothing is lost and there is no need to pay again: it will be credited by itself within {minutes} min, with a receipt here. Questions: {support}",
    "pay.unmatched": "We received your payment of ⭐{stars} but couldn't match it to an invoice. Nothing is lost: write to {support} with this code and we'll sort it out: {charge_id}",
    "pay.continue_failed": "Your request for “{info}” couldn't start: {reason} Send the photo again when you're ready.",
    "paysupport": "<b>Payment support</b>\nProblems with a payment or a refund? Write to {support} with the date and amount (your receipt has them). We answer within a day; refunds go back to your Stars balance.",
    "terms": "<b>Terms</b>\n• Credits are bought with Telegram Stars and spent on videos: one video costs {price} cr.\n• A video that fails for any reason gives its credit back automatically.\n• Unused credits don't expire. Bought credits that you haven't spent can be refunded: write to {support} (/paysupport).\n• Send only photos of products you have the right to sell. Videos are made by AI and may contain mistakes; check them before publishing.",
    "ledger.purchase_refund": "purchase refunded",

    # formats and quality tiers ("Options", issue 14)
    "made_in": "📐 {format} · {tier} · {price} cr.",
    "format.9x16": "9:16 vertical",
    "format.1x1": "1:1 square",
    "format.3x4": "3:4 marketplace card (Wildberries, Ozon)",
    "format.4x5": "4:5 feed post",
    "format.16x9": "16:9 horizontal",
    "preset.reels": "Reels / Shorts / TikTok",
    "preset.wildberries": "Wildberries card",
    "preset.ozon": "Ozon card (plays muted)",
    "preset.feed": "feed post",
    "preset.square": "square",
    "preset.youtube": "YouTube, websites",
    "preset.short.reels": "Reels",
    "preset.short.wildberries": "WB",
    "preset.short.ozon": "Ozon",
    "preset.short.feed": "Feed",
    "preset.short.square": "Square",
    "preset.short.youtube": "YouTube",
    "tier.fast": "Fast",
    "tier.quality": "Quality",
    "tier.closed": "⏸ {tier} videos can't be made for a moment: our video studio's account is being topped up. Nothing was charged.",
    "tier.closed.failing": "⏸ {tier} videos are failing at our video studio right now, so we've paused them for a few minutes. Nothing was charged.",
    "tier.closed.other": "{other} works now: pick it in /options and send the photo again.",
    "tier.closed.none": "Please try again in a little while; your credits are untouched.",
    "button.options": "⚙️ Options: {format} · {tier} · {price} cr.",
    "button.done": "✅ Done",
    "options.tier": "{tier} · {price} cr.",
    "options.title": (
        "<b>Options</b> — what your next videos are made in:\n"
        "📐 Made for: {format}\n"
        "✨ Quality: {tier} — {price} cr. per video\n\n"
        "Pick where the video goes, and it comes in exactly that format and size, ready to upload: "
        "3:4 for a Wildberries or Ozon product card (the Ozon one reads without sound: the catalogue plays it muted), "
        "9:16 for Reels, Shorts and TikTok, 4:5 for a feed post, 1:1 square, 16:9 for YouTube and websites. "
        "3:4, 4:5 and 1:1 are cut from a vertical film with the product kept in the middle.\n"
        "A higher quality tier uses a better video model and costs more. The price is taken when a video starts."
    ),
    "options.saved": "Saved. Your next videos: {format} · {tier} — {price} cr. each.",

    # the ETA on the status message
    "eta.queue": "👥 You're number {position} in the queue.",
    "eta.minutes": "⏱ About {minutes} min left.",
    "eta.under_minute": "⏱ Less than a minute left.",

    # the regenerate panel under a delivered video
    "button.edit": "✏️ New description",
    "button.format": "📐 Another format or quality",
    "button.report": "⚠️ Report a problem",
    "button.start": "▶️ Start: {format}, {tier} — {price} cr.",
    "button.start_free": "▶️ Make it {format} — free",
    "regenerate.title_free": (
        "A new video of “{info}”: pick the format and quality, then press Start.\nNow: {made_in}\n"
        "Free: this format is cut from the video you have — the same film, no new generation. "
        "A new quality tier, or 16:9 from a vertical film, is a new video at its price."
    ),
    "regenerate.title": "A new video of “{info}”: pick the format and quality, then press Start.\nNow: {made_in}",
    "regenerate.ask_info": (
        "Send the new description for this photo in one line. The video will be made in {format} · {tier} "
        "for {price} cr. /cancel to cancel."
    ),
    "regenerate.price_changed": "The price has changed: this video now costs {price} cr. Check it and press Start again.",

    # "Report a problem"
    "report.ask": "What's wrong with the video of “{info}”?",
    "report.reason.wrong_product": "🔄 Wrong product",
    "report.reason.bad_quality": "🌫 Bad quality",
    "report.reason.text_artefacts": "🔤 Garbled text",
    "report.reason.other": "✍️ Something else",
    "report.ask_comment": "Tell us in one line what's wrong with the video of “{info}”. /cancel to cancel.",
    "report.comment_empty": "Please write a few words about the problem, or /cancel.",
    "report.received": "Thank you. Your report on “{info}” is with our team; we'll write to you here once we've decided.",
    "report.already": "You've already reported this video. We'll write to you once it's decided.",
    "report.outcome.refunded": "We checked your report on “{info}” and refunded {credits} cr. Sorry about that! Balance: {balance} cr.",
    "report.outcome.rerun": "We checked your report on “{info}” and are making the video again, free of charge. It'll be here in a few minutes.",
    "report.outcome.dismissed": (
        "We checked your report on “{info}” and found nothing we can fix in this video, so there's no refund this time. "
        "If you disagree, write to {support}."
    ),
    "ledger.goodwill_refund": "refund after a report",

    # operators: report cards
    "ops.card": (
        "🚩 <b>Report #{report}</b> · seller <code>{user}</code>\n"
        "Job <code>{job}</code>\n{made_in}\n"
        "Reason: <b>{reason}</b>{comment}\n"
        "Description: “{info}”"
    ),
    "ops.card.comment": "\nIn their words: “{comment}”",
    "ops.card.prompt": "Prompt: {prompt}",
    "ops.button.refund": "💸 Refund",
    "ops.button.rerun": "🔁 Re-run free",
    "ops.button.dismiss": "✖️ Dismiss",
    "ops.resolved.refunded": "✅ Refunded {credits} cr. — admin {admin}",
    "ops.resolved.rerun": "✅ Re-run free (job <code>{job}</code>) — admin {admin}",
    "ops.resolved.dismissed": "✅ Dismissed — admin {admin}",
    "ops.already": "Already resolved ({status}) by admin {admin}.",
    "ops.nothing_to_refund": "This video was free: there's nothing to refund. Re-run it or dismiss the report.",
    "ops.only": "Only operators can do this.",

    # operators: broadcasts
    "broadcast.usage": "Usage: /broadcast &lt;text&gt; — after a preview, the text goes to every seller who hasn't blocked the bot.",
    "broadcast.confirm": "📣 Broadcast #{id}: send the message above to {count} sellers?",
    "broadcast.button.send": "📣 Send to {count}",
    "broadcast.button.cancel": "✖️ Cancel",
    "broadcast.cancelled": "Broadcast #{id} cancelled: nothing was sent.",
    "broadcast.already": "Broadcast #{id} is already {status}.",
    "broadcast.progress": "📣 Broadcast #{id}: {done} of {total} — sent {sent}, blocked {blocked}, failed {failed}…",
    "broadcast.report": "📣 Broadcast #{id} done: sent {sent}, blocked the bot {blocked}, failed {failed} (of {total}).",
}
