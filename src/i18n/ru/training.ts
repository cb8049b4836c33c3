import type { Translation } from '../catalog.js';
import type { training as en } from '../en/training.js';

/**
 * Русский: ветка обучения: объявление, статус, итоги. Ключи те же, что в `en/training.ts` (это
 * проверяет компилятор).
 */
export const training: Translation<typeof en> = {
  'training.announcement':
    '🏋️ <@{user}> запустил(а) обучение стиля ({trigger}): {steps} {steps|шаг|шага|шагов}, чекпоинт каждые {every}. Ход обучения и превью каждого чекпоинта для голосования — в ветке.',
  'training.announcement.ladder':
    'Каждый чекпоинт — отдельное обучение такой длины (округлённой до целых эпох), все идут параллельно: это не точки одного запуска, сравнивайте их как обучения разной длины.',
  'training.thread-name': 'Обучение {trigger} · {steps} {steps|шаг|шага|шагов}',
  'training.button.votes': 'Голоса сейчас',
  'training.button.close': 'Закрыть голосование',
  'training.button.cancel': 'Отменить обучение',
  'training.status.confirming': '📝 Ждёт старта',
  'training.status.starting': '⏳ Запуск (готовится GPU)',
  'training.status.running': '🏋️ Обучение',
  'training.status.succeeded': '🏁 Готово',
  'training.status.failed': '❌ Ошибка',
  'training.status.canceled': '🛑 Отменено',
  'training.status.heading': '**{heading}: {trigger}** · {strategy} · {steps} {steps|шаг|шага|шагов}, чекпоинт каждые {every}',
  'training.status.elapsed': 'Прошло {elapsed} · стоимость {cost}{estimate}',
  'training.status.elapsed.so-far': 'Прошло {elapsed} · стоимость пока {cost}{estimate}',
  'training.status.checkpoints': 'Чекпоинты: {checkpoints}',
  'training.status.stopped': 'Остановлено после шага {step}: <@{user}>.',
  'training.status.failure': 'Ошибка: {failure}',
  'training.state.confirming': 'ждёт подтверждения',
  'training.state.running': 'идёт',
  'training.state.succeeded': 'завершено',
  'training.state.failed': 'ошибка',
  'training.state.canceled': 'отменено',
  'training.no-checkpoint-made': 'не получилось ни одного чекпоинта',
  'training.no-checkpoint-made.streaming':
    'не получилось ни одного чекпоинта (при REPLICATE_TRAINER_MODE=streaming тренер должен выдавать список URL весов, по одному на чекпоинт)',
  'training.refused': 'Replicate отказался запускать обучение: {detail}',
  'training.forbidden': 'Discord не дал kmplz писать в <#{channel}>: не хватает прав, поэтому обучение остановлено до запуска',
  'training.voting-closed': '🗳️ **Голосование закрыто.** `/kmplz` теперь рисует с **шагом {step}**: {explanation}.',
  'training.voting-closed.none': '🗳️ **Голосование закрыто.** Голосовать было не за что.',
  'training.revealed': 'Раскрыто: {reveal}.',
  'training.votes': 'Голоса: {counts}.',
  'training.finished': '🏁 **Обучение закончено.**',
  'training.finished.winner': '🏁 **Обучение закончено.** `/kmplz` теперь рисует с **шагом {step}**: {explanation}.',
  'training.open.until': 'Голосование открыто до <t:{at}:f> (<t:{at}:R>) или пока тренер не закроет его кнопкой ниже; потом здесь объявят результат.',
  'training.open.leader': 'Лидер: `/kmplz` теперь рисует с **шагом {step}**: {explanation}. Пока голосование открыто, он рисует с тем чекпоинтом, что лидирует.',
  'training.open.leader.blind': 'Лидер: {names}, {votes} {votes|голос|голоса|голосов}. Когда голосование закроется, шаги откроются и `/kmplz` переключится на победителя.',
  'training.open.none.blind': 'Голосов пока нет. Когда голосование закроется, шаги откроются и `/kmplz` переключится на победителя.',
  'training.open.closed': 'Голосование закрылось <t:{at}:R>: результат — в этой ветке.',
  'training.finished.stopped': 'Остановлено после шага {step}: <@{user}>; это сэкономило около {cost}.',
  'training.finished.failed-runs': 'Запуски с ошибкой: {runs}.',
  'training.finished.failed-run': '{steps} {steps|шаг|шага|шагов} ({error})',
  'training.canceled': '🛑 **Обучение отменено**: <@{user}>. Все запуски остановлены, это сэкономило около {cost}. `/kmplz` рисует с прежним чекпоинтом.',
  'training.failed': '❌ **Обучение не удалось**: {failure}. `/kmplz` рисует с прежним чекпоинтом.',
  'training.cost': 'Стоимость: {cost}{estimate}.',
  'training.budget': 'В этом месяце сервер потратил {spent} из {budget}.',
};
