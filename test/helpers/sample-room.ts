/**
 * A room for the built-in mind to talk in: four companions with cards
 * written here, not the built-in characters (one in Japanese, one in
 * aikyo's "You are …" style), and a person with a script of things to say
 * and ask. The conversation test and `npm run sample` use it.
 */
import type { CompanionCard } from '../../protocol/payloads.ts'
import type { PersonLine } from './brain-room.ts'

export const CARDS: CompanionCard[] = [
  { id: 'companion_noor_a1b2', name: 'Noor', personality: 'warm and patient, a good listener', story: 'Noor keeps bees on a rooftop in Cairo. She sells honey at the Friday market.', sample: 'Patience makes the sweetest honey.' },
  { id: 'companion_bastian_c3d4', name: 'Bastian', personality: 'dry humour, secretly sentimental', story: 'You are Bastian, a photographer who lives in Berlin. You love old film cameras and develop your own prints every Sunday.', sample: 'Light is everything. Well, light and coffee.' },
  { id: 'companion_yui_e5f6', name: 'ユイ', personality: '明るくて好奇心旺盛', story: 'ユイは京都のカフェで働いています。休みの日は写真を撮ります。', sample: 'こんにちは！今日もいい天気ですね。' },
  { id: 'companion_otto_g7h8', name: 'Otto', personality: 'nervous but kind, loves small machines', story: 'Otto repairs clocks in a tiny shop near the harbour. He feeds the pigeons every morning.', sample: 'Every clock has a story, if you listen.' }
]
export const PERSON = { id: 'user_lena_7f3a', name: 'Lena' }

/** What the person says, in order, one line each time the conversation rests; `expect` is what the answer must speak of. */
export const SCRIPT: Array<PersonLine & { expect?: RegExp }> = [
  { text: 'Hello everyone!' },
  { text: 'Noor, where do you sell your honey?', asks: 'Noor', expect: /Friday market/ },
  { text: 'Bastian, why do you love old cameras?', asks: 'Bastian', expect: /because .*film cameras/i },
  { text: 'ユイさん、どこで働いていますか？', asks: 'ユイ', expect: /京都のカフェ/ },
  { text: 'I adopted a puppy yesterday!' },
  { text: 'Otto, do you like clocks?', asks: 'Otto', expect: /repair clocks/ },
  { text: 'Any advice for a beginner photographer?' },
  { text: 'Otto, what do you do in the morning?', asks: 'Otto', expect: /pigeons/ },
  { text: 'Bastianさん、写真は好きですか？', asks: 'Bastian', expect: /写真/ },
  { text: 'I live in Osaka and I work as a nurse.' },
  { text: 'Noor, when do you sell your honey?', asks: 'Noor', expect: /Friday/ }
]
