"""Русский каталог текстов (язык по умолчанию)."""

TEXTS = {
    # /start, /help
    "start": (
        "Привет! Я превращаю фото товара в короткое вертикальное промо-видео.\n"
        "1. Пришлите фото товара и в подписи — пару слов о нём.\n"
        "2. Через 4–5 минут получите видео. Одно видео — {price} кр., у вас {balance} кр."
    ),
    "start.welcome": "🎁 Дарим {credits} кр. на первые видео.",
    "help": (
        "<b>Как это работает</b>\n"
        "Пришлите фото товара (JPG, PNG или WebP, не меньше 256 px, до 20 МБ) с подписью — что это "
        "и чем хорош. Без подписи я спрошу описание. Видео готово через 4–5 минут.\n\n"
        "Одно видео стоит {price} кр. Если видео не получилось, кредит вернётся сам.\n\n"
        "/buy — купить кредиты за звёзды Telegram\n"
        "/balance — баланс и последние операции\n"
        "/history — последние 10 видео\n"
        "/options — формат (9:16, 1:1, 16:9) и качество; качественное видео дороже\n"
        "/lang — язык\n"
        "/cancel — отменить ввод\n"
        "/terms — условия · /paysupport — поддержка по оплате\n"
        "Вопросы: {support}"
    ),
    "lang.choose": "Выберите язык:",
    "lang.set": "Готово, говорим по-русски.",
    "cancel.done": "Отменено. Пришлите фото товара, когда будете готовы.",
    "cancel.nothing": "Отменять нечего. Пришлите фото товара, чтобы начать.",
    "unknown_command": "Не знаю такой команды. /help — что я умею.",
    "send_photo": "Пришлите фото товара с подписью — и я сделаю видео.",

    # the photo flow
    "ask_info": "Отличное фото! Напишите одной строкой, что это за товар и чем он хорош — или нажмите «Пропустить».",
    "ask_info.waiting": "Жду описание товара одной строкой — или нажмите «Пропустить». /cancel — отменить.",
    "album": "Вы прислали несколько фото — беру первое.",
    "info_too_long": "Описание слишком длинное: {length} симв., можно до {limit}. Сократите, пожалуйста.",
    "info_empty": "Описание пустое. Напишите пару слов о товаре или нажмите «Пропустить».",
    "photo.wrong_type": "Это не фото. Пришлите изображение товара в JPG, PNG или WebP.",
    "photo.video": "Видео я не обрабатываю — пришлите фото товара, а видео сделаю я.",
    "photo.sticker": "Стикеры не подходят 🙂 Пришлите фото товара.",
    "photo.voice": "Голосовые я не понимаю. Пришлите фото товара с подписью текстом.",
    "photo.too_big": "Файл слишком большой ({size_mb} МБ). Пришлите фото до 20 МБ.",
    "photo.too_small": "Фото слишком маленькое ({width}×{height}). Нужно не меньше 256 px по каждой стороне.",
    "photo.too_large_image": "Это изображение слишком огромное. Пришлите обычное фото товара (до 20 МБ, несколько тысяч пикселей по стороне).",
    "photo.unreadable": "Не получается открыть это изображение. Пришлите фото в JPG, PNG или WebP.",
    "too_many_jobs": "У вас уже делается {in_flight} видео — это максимум. Дождитесь готового, и можно снова.",
    "throttled": "Слишком часто 🙂 Подождите пару секунд.",

    # the status message
    "status.created": "⏳ Принято! Готовлю видео для «{info}».",
    "status.enhancing": "✍️ Пишу сценарий видео для «{info}»…",
    "status.generating": "🎬 Снимаю видео для «{info}» — это займёт 4–5 минут.",
    "status.downloading": "📥 Видео готово, забираю его…",
    "status.finishing": "✂️ Делаю формат {format}…",
    "status.delivering": "📤 Отправляю видео…",
    "status.done": "✅ Готово! Видео для «{info}» — ниже.",
    "status.failed": "❌ Не получилось сделать видео для «{info}». Кредит возвращён.",
    "no_info": "товара",

    # the video
    "video.caption": "🎬 «{info}»\nОсталось {balance} кр.",
    "video.link": (
        "Видео весит {size_mb} МБ — больше, чем Telegram разрешает отправить боту, поэтому вот ссылка для скачивания "
        "(работает {days} дн.; в /history — новая):\n{url}"
    ),

    # failures (what happened and what to do; the credit is always back)
    "failure.content_policy": (
        "Сервис видео отклонил это фото или описание по правилам контента. Кредит вернули.\n"
        "Попробуйте другое фото или более нейтральное описание: без людей, логотипов и громких обещаний."
    ),
    "failure.photo_rejected": (
        "Сервис видео не смог прочитать это фото. Кредит вернули.\n"
        "Пришлите чёткое фото товара в JPG или PNG."
    ),
    "failure.generation_failed": (
        "Сервис видео не справился с этим роликом. Кредит вернули.\n"
        "Нажмите «Попробовать ещё раз» — со второй попытки обычно получается."
    ),
    "failure.busy": (
        "Сервис видео сейчас перегружен, и мы не успели. Кредит вернули.\n"
        "Попробуйте ещё раз через несколько минут."
    ),
    "failure.video": (
        "Видео получилось, но доставить его не вышло. Кредит вернули.\n"
        "Нажмите «Попробовать ещё раз»."
    ),
    "failure.photo_missing": "Не удалось снова получить ваше фото из Telegram. Кредит возвращён.\nПожалуйста, пришлите фото ещё раз.",
    "failure.system": (
        "Что-то сломалось на нашей стороне. Кредит вернули, мы уже разбираемся.\n"
        "Попробуйте позже или напишите {support}."
    ),

    # buttons
    "button.again": "🔁 Сделать ещё",
    "button.try_again": "🔁 Попробовать ещё раз",
    "button.skip": "Пропустить",

    # callbacks
    "callback.started": "Запускаю!",
    "callback.already": "Уже запущено.",
    "callback.not_yours": "Это не ваше видео.",
    "callback.unknown": "Эта кнопка устарела.",
    "callback.no_photo": "Фото этого задания уже недоступно. Пришлите его снова.",
    "callback.resent": "Отправляю ещё раз.",

    # /balance, /history
    "balance": "Баланс: {balance} кр. Одно видео — {price} кр.",
    "balance.movements": "Последние операции:",
    "balance.none": "Операций пока нет.",
    "ledger.welcome": "подарок новичку",
    "ledger.grant": "начисление",
    "ledger.purchase": "покупка",
    "ledger.debit": "видео",
    "ledger.refund": "возврат",
    "ledger.refund_reversal": "возврат отменён: видео доставлено",
    "history.line": "{number}. {date} — {status} — {info}",
    "history.resend": "📹 {number}",
    "balance.line": "{date} {amount} — {label}",
    "history.title": "Последние видео:",
    "history.empty": "Видео пока нет. Пришлите фото товара!",
    "job.status.created": "в очереди",
    "job.status.enhancing": "пишу сценарий",
    "job.status.generating": "снимаю",
    "job.status.downloading": "забираю",
    "job.status.finishing": "готовлю формат",
    "job.status.delivering": "отправляю",
    "job.status.done": "готово",
    "job.status.failed": "не получилось",

    # the command menu (setMyCommands), in menu order
    "command.start": "Начать",
    "command.help": "Как это работает",
    "command.balance": "Баланс",
    "command.history": "Мои видео",
    "command.options": "Формат и качество",
    "command.lang": "Язык",
    "command.cancel": "Отменить",
    "command.buy": "Купить кредиты",
    "command.promo": "Промокод",
    "command.paysupport": "Поддержка по оплате",
    "command.terms": "Условия",

    # promo codes (/promo CODE)
    "promo.usage": "Пришлите промокод так: /promo SPRING",
    "promo.redeemed": "🎁 Промокод {code}: +{credits} кр. Ваш баланс: {balance} кр.",
    "promo.unknown": "Промокода {code} нет. Проверьте написание (буквы и цифры, без пробелов) и пришлите ещё раз: /promo КОД",
    "promo.already": "Вы уже использовали промокод {code}: каждый код действует один раз на аккаунт.",
    "promo.expired": "Срок промокода {code} истёк. Следите за новыми кодами в нашем канале или пополните баланс: /buy.",
    "promo.used_up": "Промокод {code} уже использовали все, кому он был доступен. Пополните баланс: /buy — или дождитесь следующего кода.",

    # a handler failed unexpectedly
    "error.internal": "У нас что-то сломалось. Попробуйте ещё раз через минуту; если не пройдёт — напишите {support}.",

    # buying credits with Telegram Stars
    "no_credits": "Недостаточно кредитов: у вас {balance} кр., видео стоит {price} кр.\nПополните баланс звёздами Telegram — кнопки ниже или /buy.",
    "no_credits.kept": "Недостаточно кредитов: у вас {balance} кр., видео стоит {price} кр.\nЯ сохранил запрос «{info}» на {minutes} мин: пополните баланс ниже, и видео начнётся само — фото присылать заново не нужно.",
    "buy.title": "Купить кредиты за звёзды Telegram. Одно видео стоит {price} кр.",
    "buy.pack": "{credits} кр. — ⭐{stars} ({per_video} ⭐ за видео)",
    "button.buy": "⭐ Купить кредиты",
    "invoice.title": "{credits} кредитов на видео",
    "invoice.description": "{credits} кредитов на промо-видео Neurocards: одно видео стоит {price} кр.",
    "invoice.label": "{credits} кредитов",
    "pay.refused.forged": "Этот счёт недействителен. Откройте /buy и выберите пакет заново.",
    "pay.refused.not_yours": "Этот счёт выставлен другому аккаунту. Откройте /buy, чтобы получить свой.",
    "pay.refused.expired": "Срок этого счёта истёк. Откройте /buy и выберите пакет заново — деньги не списаны.",
    "pay.refused.unknown_pack": "Этот пакет больше не продаётся. Откройте /buy, чтобы увидеть текущие пакеты.",
    "pay.refused.amount": "Сумма не совпадает со счётом. Откройте /buy и попробуйте ещё раз — деньги не списаны.",
    "pay.receipt": "✅ Оплата получена: ⭐{stars} за {credits} кр.\nБаланс: {balance} кр. Спасибо!",
    "pay.receipt.continue": "Запускаю видео для «{info}».",
    "pay.delayed": "Мы получили оплату ⭐{stars}, но у нас её запись задерживается. Ничего не потеряно, платить ещё раз не нужно: кредиты начислятся сами в течение {minutes} мин, и сюда придёт чек. Вопросы: {support}",
    "pay.unmatched": "Мы получили оплату ⭐{stars}, но не смогли сопоставить её со счётом. Ничего не потеряно: напишите {support} и укажите этот код — разберёмся: {charge_id}",
    "pay.continue_failed": "Запрос «{info}» не удалось запустить: {reason} Пришлите фото ещё раз, когда будете готовы.",
    "paysupport": "<b>Поддержка по оплате</b>\nПроблема с оплатой или возвратом? Напишите {support}, укажите дату и сумму (они есть в чеке). Отвечаем в течение суток; возвраты приходят на баланс звёзд.",
    "terms": "<b>Условия</b>\n• Кредиты покупаются за звёзды Telegram и тратятся на видео: одно видео стоит {price} кр.\n• Если видео не получилось по любой причине, кредит возвращается сам.\n• Неиспользованные кредиты не сгорают. Купленные и не потраченные кредиты можно вернуть: напишите {support} (/paysupport).\n• Присылайте только фото товаров, которые вы вправе продавать. Видео создаёт ИИ, в нём возможны ошибки; проверьте его перед публикацией.",
    "ledger.purchase_refund": "возврат покупки",

    # formats and quality tiers ("Options", issue 14)
    "made_in": "📐 {format} · {tier} · {price} кр.",
    "format.9x16": "9:16 вертикальное",
    "format.1x1": "1:1 квадрат",
    "format.3x4": "3:4 карточка маркетплейса (Wildberries, Ozon)",
    "format.4x5": "4:5 пост в ленту",
    "format.16x9": "16:9 горизонтальное",
    "preset.reels": "Reels / Shorts / TikTok",
    "preset.wildberries": "карточка Wildberries",
    "preset.ozon": "карточка Ozon (без звука)",
    "preset.feed": "пост в ленту",
    "preset.square": "квадрат",
    "preset.youtube": "YouTube, сайты",
    "preset.short.reels": "Reels",
    "preset.short.wildberries": "WB",
    "preset.short.ozon": "Ozon",
    "preset.short.feed": "Лента",
    "preset.short.square": "Квадрат",
    "preset.short.youtube": "YouTube",
    "tier.fast": "Быстрое",
    "tier.quality": "Качественное",
    "button.options": "⚙️ Настройки: {format} · {tier} · {price} кр.",
    "button.done": "✅ Готово",
    "options.tier": "{tier} · {price} кр.",
    "options.title": (
        "<b>Настройки</b> — в чём будут ваши следующие видео:\n"
        "📐 Для: {format}\n"
        "✨ Качество: {tier} — {price} кр. за видео\n\n"
        "Выберите, куда пойдёт видео, — оно придёт ровно в этом формате и размере, готовым к загрузке: "
        "3:4 — карточка товара Wildberries или Ozon (для Ozon — понятное без звука: в каталоге видео играет "
        "без звука), 9:16 — Reels, Shorts и TikTok, 4:5 — пост в ленту, 1:1 — квадрат, 16:9 — YouTube и сайты. "
        "3:4, 4:5 и 1:1 вырезаются из вертикальной съёмки, товар остаётся в центре.\n"
        "Чем выше качество, тем лучше видеомодель и дороже видео. Кредиты списываются при запуске видео."
    ),
    "options.saved": "Сохранено. Следующие видео: {format} · {tier} — {price} кр. за видео.",

    # the ETA on the status message
    "eta.queue": "👥 Вы {position}-й в очереди.",
    "eta.minutes": "⏱ Осталось примерно {minutes} мин.",
    "eta.under_minute": "⏱ Осталось меньше минуты.",

    # the regenerate panel under a delivered video
    "button.edit": "✏️ Новое описание",
    "button.format": "📐 Другой формат или качество",
    "button.report": "⚠️ Сообщить о проблеме",
    "button.start": "▶️ Запустить: {format}, {tier} — {price} кр.",
    "button.start_free": "▶️ Сделать {format} — бесплатно",
    "regenerate.title_free": (
        "Новое видео для «{info}»: выберите формат и качество и нажмите «Запустить».\nСейчас: {made_in}\n"
        "Бесплатно: этот формат вырезается из уже готового видео — та же съёмка, без новой генерации. "
        "Другое качество или 16:9 из вертикальной съёмки — новое видео по его цене."
    ),
    "regenerate.title": "Новое видео для «{info}»: выберите формат и качество и нажмите «Запустить».\nСейчас: {made_in}",
    "regenerate.ask_info": (
        "Пришлите новое описание для этого фото одной строкой. Видео будет в формате {format} · {tier} "
        "за {price} кр. /cancel — отменить."
    ),
    "regenerate.price_changed": "Цена изменилась: теперь это видео стоит {price} кр. Проверьте и нажмите «Запустить» ещё раз.",

    # "Report a problem"
    "report.ask": "Что не так с видео для «{info}»?",
    "report.reason.wrong_product": "🔄 Не тот товар",
    "report.reason.bad_quality": "🌫 Плохое качество",
    "report.reason.text_artefacts": "🔤 Искажённый текст",
    "report.reason.other": "✍️ Другое",
    "report.ask_comment": "Напишите одной строкой, что не так с видео для «{info}». /cancel — отменить.",
    "report.comment_empty": "Напишите пару слов о проблеме или /cancel.",
    "report.received": "Спасибо! Жалоба на «{info}» передана команде; мы напишем здесь, когда примем решение.",
    "report.already": "Вы уже сообщили о проблеме с этим видео. Мы напишем, когда примем решение.",
    "report.outcome.refunded": "Мы проверили жалобу на «{info}» и вернули {credits} кр. Простите за это! Баланс: {balance} кр.",
    "report.outcome.rerun": "Мы проверили жалобу на «{info}» и делаем видео заново, бесплатно. Оно придёт через несколько минут.",
    "report.outcome.dismissed": (
        "Мы проверили жалобу на «{info}» и не нашли в видео того, что можем исправить, поэтому в этот раз без возврата. "
        "Если вы не согласны, напишите {support}."
    ),
    "ledger.goodwill_refund": "возврат по жалобе",

    # operators: report cards
    "ops.card": (
        "🚩 <b>Жалоба #{report}</b> · продавец <code>{user}</code>\n"
        "Задача <code>{job}</code>\n{made_in}\n"
        "Причина: <b>{reason}</b>{comment}\n"
        "Описание: «{info}»"
    ),
    "ops.card.comment": "\nСвоими словами: «{comment}»",
    "ops.card.prompt": "Промпт: {prompt}",
    "ops.button.refund": "💸 Вернуть",
    "ops.button.rerun": "🔁 Переснять бесплатно",
    "ops.button.dismiss": "✖️ Отклонить",
    "ops.resolved.refunded": "✅ Возвращено {credits} кр. — админ {admin}",
    "ops.resolved.rerun": "✅ Переснимаем бесплатно (задача <code>{job}</code>) — админ {admin}",
    "ops.resolved.dismissed": "✅ Отклонено — админ {admin}",
    "ops.already": "Уже решено ({status}), админ {admin}.",
    "ops.nothing_to_refund": "Это видео было бесплатным: возвращать нечего. Переснимите его или отклоните жалобу.",
    "ops.only": "Это могут делать только операторы.",

    # operators: broadcasts
    "broadcast.usage": "Формат: /broadcast &lt;текст&gt; — после предпросмотра текст уйдёт всем продавцам, кто не заблокировал бота.",
    "broadcast.confirm": "📣 Рассылка #{id}: отправить сообщение выше {count} продавцам?",
    "broadcast.button.send": "📣 Отправить {count}",
    "broadcast.button.cancel": "✖️ Отмена",
    "broadcast.cancelled": "Рассылка #{id} отменена: ничего не отправлено.",
    "broadcast.already": "Рассылка #{id} уже {status}.",
    "broadcast.progress": "📣 Рассылка #{id}: {done} из {total} — отправлено {sent}, заблокировали {blocked}, ошибок {failed}…",
    "broadcast.report": "📣 Рассылка #{id} завершена: отправлено {sent}, заблокировали бота {blocked}, ошибок {failed} (из {total}).",
}
