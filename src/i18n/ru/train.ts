import type { Translation } from '../catalog.js';
import type { train as en } from '../en/train.js';

/**
 * Русский: /обучить: подтверждение, его кнопки и ответы. Ключи те же, что в `en/train.ts` (это
 * проверяет компилятор).
 */
export const train: Translation<typeof en> = {
  'train.confirm.title': 'Обучить {trigger} за {steps} {steps|шаг|шага|шагов}?',
  'train.confirm.description': 'Пока вы не нажмёте **Старт**, ничего не оплачивается.',
  'train.confirm.drawings': 'рисунки',
  'train.confirm.drawings.added': '{count} (только что добавлено: {added})',
  'train.confirm.drawings.added-refused': '{count} (только что добавлено: {added}, не принято: {refused})',
  'train.confirm.captions-missing': 'без подписи',
  'train.confirm.captions-missing.value': '{count} — они будут обучаться как «{trigger}, a drawing»; подпишите их сначала, чтобы стиль вышел лучше',
  'train.confirm.checkpoints': 'чекпоинты',
  'train.confirm.checkpoints.value': '{steps} — для каждого превью, за которое можно голосовать',
  'train.confirm.vote': 'голосование',
  'train.confirm.vote.blind': 'вслепую: превью под буквами (A, B, C…), все вместе в конце, шаги открываются, когда голосование закроется',
  'train.confirm.vote.open': 'превью с номерами шагов, по мере готовности',
  'train.confirm.vote.minutes': 'открыто ещё {minutes} мин после последнего чекпоинта или пока тренер его не закроет, затем объявляется победитель',
  'train.confirm.vote.default': 'открыто ещё {hours} ч после последнего чекпоинта или пока тренер его не закроет, затем объявляется победитель',
  'train.confirm.vote.draws': 'пока оно идёт, `/kmplz` рисует с лидирующим чекпоинтом',
  'train.confirm.vote.draws.blind': '`/kmplz` переключится на победителя, когда голосование закроется (до тех пор ни одна картинка не выдаст шаг)',
  'train.confirm.cost': 'оценка времени GPU и цены',
  'train.confirm.cost.value': '{cost} (обучение {training}, превью {previews}); последний чекпоинт примерно через {wall}',
  'train.confirm.strategy': 'стратегия',
  'train.confirm.budget': 'бюджет',
  'train.confirm.budget.value': 'в этом месяце потрачено {spent} из {budget}',
  'train.strategy.streaming': 'streaming: один запуск, который отдаёт чекпоинты по ходу дела (время GPU = одно обучение).',
  'train.strategy.ladder':
    'ladder: {runs} отдельных обучений по {steps} шагов (один сид, одни картинки), параллельно — каждый чекпоинт это обучение своей длины, а не точка одного запуска. Ждать столько же, сколько самое длинное, но платить за все ({factor}× одного обучения).',
  'train.strategy.ladder.epochs':
    'Тренер проходит целые эпохи ({images} {images|рисунок|рисунка|рисунков} при батче {batch} = {perEpoch} {perEpoch|шаг|шага|шагов} в эпохе), поэтому на деле они обучаются {trained} шагов; оценка считает именно их.',
  'train.button.start': 'Старт',
  'train.button.caption': 'Сначала подписать ({count})',
  'train.started': 'Обучение запущено. Превью каждого чекпоинта для голосования появятся там.',
  'train.started.thread': 'Обучение запущено: следите за ним в <#{thread}>. Превью каждого чекпоинта для голосования появятся там.',
  'train.discarded': 'Ничего не запущено, ничего не потрачено.',
  'train.captioning': '✍️ Подписываю рисунки без подписи…',
  'train.caption-failed': 'Эти рисунки подписать не удалось, они будут обучаться как «{trigger}, a drawing»: {names}.',
  'train.stopped':
    '🛑 <@{user}> остановил(а) обучение после шага {step}: {count|отменён запуск|отменены запуски|отменены запуски} на {steps} шагов, это экономит около {cost}. Готовые чекпоинты остаются в голосовании.',
  'train.canceled': 'Отменено: все запуски останавливаются, это экономит около {cost}. В ветке появится сообщение, когда они остановятся.',
  'train.voting-closed': '🔒 Голосование закрыто: результат — в ветке, и `/kmplz` рисует с победителем.',
  'train.votes.none': 'Чекпоинтов пока нет: первое превью уже в пути.',
  'train.votes.blind': 'Слепое голосование: шаги откроются, когда оно закроется.',
};
