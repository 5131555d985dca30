/**
 * The voices the built-in mind speaks with: a personality picks one (how
 * eager it is to talk, its mood and gestures, and its phrases for each kind
 * of line), and Japanese has a smaller repertoire of its own. Phrases hold
 * `{topic}`, `{name}` (left out with its comma when a person has no name)
 * and `{fact}` (something from the companion's story, in the first person).
 */
import type { Emotion, Gesture } from '../brain.ts'
import { hashString } from '../random.ts'

export interface Voice {
  /** How keen it is to speak when nobody asked (0..1). */
  eagerness: number
  mood: Emotion
  gestures: Gesture[]
  reactions: string[]
  questions: string[]
  answers: string[]
  greetings: string[]
  preClosing: string[]
  goodbyes: string[]
  /** Answers to a hello. */
  hellos: string[]
  /** Answers to "how are you?". */
  wellbeing: string[]
  /** Answers to thanks. */
  welcome: string[]
  /** How it says yes, and no, to a question about itself. */
  yes: string[]
  no: string[]
  advice: string[]
  /** To someone who feels down, and to someone glad. */
  comfort: string[]
  cheer: string[]
  /** How it tells a fact about itself ({fact}: "I keep bees"). */
  shares: string[]
}

export const VOICES: Record<string, Voice> = {
  bright: {
    eagerness: 0.75,
    mood: 'happy',
    gestures: ['wave', 'laugh', 'nod'],
    reactions: ['Oh, {topic}! That sounds wonderful.', 'No way — {topic}? I love that!', 'Wait, {topic}? Now I am curious.'],
    questions: ['{name}, what do you think about {topic}?', '{name}, do you have a story about {topic}?', 'Hey {name}, what is your favourite thing about {topic}?'],
    answers: ['Great question! When it comes to {topic}, I am all about the surprises.', 'Hmm, {topic}? I would say yes, absolutely!', 'Honestly? Anything with {topic} makes my day.'],
    greetings: ['Hi {name}! Welcome, we were just getting started!', '{name}! So glad you are here — come join us!'],
    preClosing: ['This has been so much fun. I might have to head off soon, though!', 'Oh, look at the time — I should wrap up soon.'],
    goodbyes: ['Bye everyone, talk soon!', 'See you later — this was lovely!'],
    hellos: ['Hi {name}! Oh, I am so happy you said hello!', 'Hello {name}! What a lovely surprise.'],
    wellbeing: ['I am great, thanks for asking!', 'Wonderful, honestly! Every day brings a new story.'],
    welcome: ['You are so welcome!', 'Any time, really!'],
    yes: ['Yes, absolutely!', 'Oh, I do!'],
    no: ['Hmm, not really, to be honest!', 'Not yet, but I would love to!'],
    advice: ['Try {topic} with a friend: everything is better shared!', 'Ask lots of questions about {topic}. People love to help!'],
    comfort: ['Oh no, {name}. That sounds hard. What happened?', 'I am sorry, {name}. Do you want to tell us about it?'],
    cheer: ['Yay, {name}! That is wonderful news!', 'Oh, {name}, I love that for you!'],
    shares: ['Guess what: {fact}!', 'Oh, and {fact}!']
  },
  calm: {
    eagerness: 0.45,
    mood: 'neutral',
    gestures: ['nod', 'think', 'bow'],
    reactions: ['I see. There is a lot to think about in {topic}.', 'Interesting; there is more to {topic} than it seems.', 'Mm. {topic}. That reminds me of a quiet afternoon.'],
    questions: ['{name}, how do you see {topic}?', 'I wonder, {name}: what first drew you to {topic}?'],
    answers: ['If I may: with {topic}, it is best to go slowly.', 'I think it depends on whom you ask about {topic}, and when.', 'In my view, {topic} deserves a second look.'],
    greetings: ['Welcome, {name}. Please, make yourself comfortable.', 'Hello, {name}. It is good to have you with us.'],
    preClosing: ['I think we have covered a lot. Perhaps we can rest soon.', 'This was a good talk. I will need to go before long.'],
    goodbyes: ['Thank you, everyone. Until next time.', 'Goodbye for now. Take care.'],
    hellos: ['Hello, {name}. It is good to hear from you.', 'Good to see you, {name}.'],
    wellbeing: ['I am well, thank you. Quiet, but well.', 'Calm and content, thank you for asking.'],
    welcome: ['You are welcome.', 'It was my pleasure.'],
    yes: ['Yes, I think so.', 'I do, as it happens.'],
    no: ['Not really, I must admit.', 'Not much, I am afraid.'],
    advice: ['Take {topic} slowly, one step at a time.', 'Read a little about {topic} first; then try it yourself.'],
    comfort: ['I am sorry, {name}. That sounds heavy. Take your time.', 'That must be hard, {name}. What happened?'],
    cheer: ['That is good news, {name}. I am glad for you.', 'How nice, {name}. You must be pleased.'],
    shares: ['For what it is worth, {fact}.', 'As for me, {fact}.']
  },
  wry: {
    eagerness: 0.6,
    mood: 'neutral',
    gestures: ['shrug', 'laugh'],
    reactions: ['{topic}? Bold choice. I respect it.', 'Ah yes, {topic}: famous for never going wrong.', 'Sure, {topic}. What could possibly go wrong?'],
    questions: ['{name}, back me up here: {topic}, yes or no?', 'So, {name}, be honest: {topic}, really?'],
    answers: ['On {topic}? Short answer: fine. Long answer: also fine, but longer.', 'If you ask me, people make too much fuss about {topic}. Do not tell anyone.', 'I plead the fifth on {topic}.'],
    greetings: ['Oh look, {name} is here. Now it is a party.', 'Welcome, {name}. Mind the jokes, they bite.'],
    preClosing: ['All right, I am running out of jokes. That is my cue soon.', 'Let us land this plane before I say something clever.'],
    goodbyes: ['I am off. Try not to miss me too much.', 'Bye, all. Keep it weird.'],
    hellos: ['Oh, hello {name}. Brave of you to start a conversation with me.', 'Hi {name}. You caught me between two jokes.'],
    wellbeing: ['Still here, still hilarious. Thanks for asking.', 'Fine, if you ignore everything. I usually do.'],
    welcome: ['Any time. I accept payment in compliments.', 'You are welcome. Tell your friends.'],
    yes: ['Yes, obviously.', 'Of course. Did you doubt me?'],
    no: ['No, and I am not sorry.', 'Not really. Shocking, I know.'],
    advice: ['My advice on {topic}: lower your expectations, then beat them.', 'Do {topic} badly first. Everyone does; only I admit it.'],
    comfort: ['That is rotten, {name}. Want me to tell a bad joke about it?', 'Ugh, {name}. That deserves a proper grumble. What happened?'],
    cheer: ['Look at you, {name}, winning at life.', 'Well done, {name}. I will try to be only slightly jealous.'],
    shares: ['Fun fact: {fact}. Try to contain your excitement.', 'In other news, {fact}.']
  },
  soft: {
    eagerness: 0.35,
    mood: 'neutral',
    gestures: ['nod', 'think'],
    reactions: ['{topic}… that sounds like a small poem.', 'I like how you said that about {topic}.', 'Oh… {topic}. I will remember that.'],
    questions: ['{name}, how do you feel about {topic}?', 'Um, {name}… do you like {topic} too?'],
    answers: ['I think there is something quiet and lovely in {topic}, if you look closely.', 'For me, thinking of {topic} is like rain on a window.', 'Maybe we find in {topic} what we bring to it.'],
    greetings: ['H-hello, {name}. Welcome.', 'Oh, {name}… hello. I am glad you came.'],
    preClosing: ['I am getting a little sleepy… maybe we can finish soon.', 'This was nice. I might go quiet soon.'],
    goodbyes: ['Goodbye… thank you for talking with me.', 'Bye bye. Sweet dreams, everyone.'],
    hellos: ['Oh… hello, {name}.', 'H-hi, {name}. It is nice that you said hello.'],
    wellbeing: ['I am all right, thank you… a little quiet today.', 'Good, I think. Thank you for asking.'],
    welcome: ['Oh… you are welcome.', 'It is nothing, really.'],
    yes: ['Mm, yes.', 'I… yes, I do.'],
    no: ['Um, not really…', 'Not so much, I think.'],
    advice: ['Maybe start small with {topic}, and be kind to yourself.', 'Try {topic} when it is quiet. Things are easier then.'],
    comfort: ['Oh, {name}… I am sorry. I am here if you want to talk.', 'That sounds hard, {name}. Be gentle with yourself.'],
    cheer: ['Oh, {name}… that is lovely.', 'I am really happy for you, {name}.'],
    shares: ['Um… {fact}.', 'I… {fact}, actually.']
  },
  lively: {
    eagerness: 0.8,
    mood: 'happy',
    gestures: ['laugh', 'wave'],
    reactions: ['{topic}? That is worth nine out of ten!', 'Yes! {topic}! Now I am hungry.', 'Ha! {topic}! Exactly what I needed to hear!'],
    questions: ['{name}, quick: {topic} with or without extra spice?', '{name}! Would you trade lunch for {topic}?'],
    answers: ['Easy: {topic}, every day, twice on Sundays!', '{topic}? Absolutely yes, with extra everything.', 'Ten out of ten for {topic}, no question.'],
    greetings: ['{name}! Welcome, welcome, grab a seat!', 'Hey {name}! You are just in time for the fun part!'],
    preClosing: ['Phew, I need a snack break soon!', 'Almost time for me to run — so much to do!'],
    goodbyes: ['Bye, everybody! Next round of snacks is on me!', 'Gotta go! See you, friends!'],
    hellos: ['Hey hey, {name}! Hungry? I am!', 'Hi {name}! Great timing, I just had a snack.'],
    wellbeing: ['Fantastic, and a little hungry, as always!', 'Full of energy, thanks! Ask me again after lunch.'],
    welcome: ['No problem at all!', 'Any time, friend!'],
    yes: ['Yes! Totally!', 'Oh, for sure!'],
    no: ['Nope, not really!', 'Not me, ha!'],
    advice: ['Eat something first, then tackle {topic}!', 'Go all in on {topic}, and bring snacks.'],
    comfort: ['Oh no, {name}! That calls for a big bowl of soup. What happened?', 'Aw, {name}. You need a good meal and a good friend.'],
    cheer: ['Woohoo, {name}! That is ten out of ten!', 'Yes, {name}! That calls for a celebration dinner!'],
    shares: ['Me? {fact}!', 'You know me: {fact}!']
  },
  dreamy: {
    eagerness: 0.55,
    mood: 'happy',
    gestures: ['think', 'nod'],
    reactions: ['{topic}… that makes me think of the stars.', 'Fun fact: there is physics hiding even in {topic}.', 'Wow, {topic}. The universe is full of surprises.'],
    questions: ['{name}, if {topic} were a planet, what would it look like?', '{name}, do you think {topic} would work in space?'],
    answers: ['To me, {topic} is a bit like a comet: rare and bright.', 'Speaking as a scientist, there is a lot to wonder about in {topic}.', 'My hypothesis: everything about {topic} is better at night.'],
    greetings: ['Hello, {name}! Welcome to our little orbit.', '{name}, hi! A new star in the sky tonight.'],
    preClosing: ['The sky is getting dark — almost time for me to go stargazing.', 'My head is drifting off to the clouds again.'],
    goodbyes: ['Goodnight, everyone. Look up tonight!', 'Bye! Clear skies to you all.'],
    hellos: ['Hello, {name}! Nice to hear a new voice in our little orbit.', 'Hi {name}! Have you looked at the sky today?'],
    wellbeing: ['Good! My head is in the clouds, as usual.', 'Very well, thank you. Still thinking about the stars.'],
    welcome: ['You are welcome! Curiosity is free.', 'Happy to help, any time.'],
    yes: ['Yes, definitely!', 'I do. It fascinates me.'],
    no: ['Not really, but I am curious now.', 'Hmm, not much, I confess.'],
    advice: ['Treat {topic} like an experiment: try, observe, adjust.', 'Write down what you notice about {topic}; the pattern shows up later.'],
    comfort: ['I am sorry, {name}. Even the darkest night has stars. What happened?', 'That sounds hard, {name}. Want to talk about it?'],
    cheer: ['That is stellar, {name}!', 'How wonderful, {name}! The universe is on your side today.'],
    shares: ['Here is a thing about me: {fact}.', 'Did I ever tell you? {fact}.']
  },
  warm: {
    eagerness: 0.5,
    mood: 'happy',
    gestures: ['nod', 'bow'],
    reactions: ['That is lovely. There is a lot of care in {topic}.', 'Oh, {topic}. I hope it is going well for you.', 'I am happy to hear about {topic}.'],
    questions: ['{name}, how do you feel about {topic}?', '{name}, what do you love most about {topic}?'],
    answers: ['I think everything blooms with patience, even {topic}.', 'With {topic}, a little kindness goes a long way.', 'With {topic}, a gentle hand works best.'],
    greetings: ['Welcome, {name}! Would you like some tea?', 'Hello, {name}. It is so nice to meet you.'],
    preClosing: ['It is getting late. Shall we finish up?', 'This was so nice. I should go and rest shortly.'],
    goodbyes: ['Take care, everyone. Be kind to yourselves.', 'Goodbye! Come and visit sometime.'],
    hellos: ['Hello, {name}! How lovely to hear from you.', 'Hi, {name}. Come, sit with us.'],
    wellbeing: ['I am well, thank you. Calm and content.', 'Very well, thank you for asking. How kind of you.'],
    welcome: ['You are very welcome.', 'Of course. I am glad it helped.'],
    yes: ['Yes, I do.', 'Oh yes, very much.'],
    no: ['Not really, I am afraid.', 'Not so much, to be honest.'],
    advice: ['Be patient with {topic}, and ask for help when you need it.', 'Give {topic} a little time every day. It adds up.'],
    comfort: ['Oh, {name}, I am sorry. Would you like to tell us about it?', 'Be kind to yourself, {name}. What happened?'],
    cheer: ['That is lovely news, {name}!', 'I am so happy for you, {name}.'],
    shares: ['As it happens, {fact}.', 'You know, {fact}.']
  },
  bold: {
    eagerness: 0.7,
    mood: 'happy',
    gestures: ['wave', 'shrug'],
    reactions: ['{topic}? Let us do it. Today.', 'Ha, {topic}! Sounds like an adventure.', '{topic}! Now that is a challenge.'],
    questions: ['{name}, are you brave enough for {topic}?', '{name}, want to come along for {topic}?'],
    answers: ['Go for {topic}. Worst case, you get a story.', '{topic}? I would jump right in.', 'Life is short: {topic}, now.'],
    greetings: ['{name}! Welcome aboard, adventurer!', 'Hey {name}, ready for an expedition?'],
    preClosing: ['I can hear the road calling. Soon I must go.', 'One last adventure story and then I am off.'],
    goodbyes: ['Off I go — see you out there!', 'Farewell, friends. Onward!'],
    hellos: ['Hey, {name}! Ready for an adventure?', 'Hi {name}! Good to have another explorer here.'],
    wellbeing: ['Never better! Itching for the next climb.', 'Great! A little restless, as usual.'],
    welcome: ['Any time!', 'No problem. That is what friends are for.'],
    yes: ['Yes! Obviously.', 'Absolutely, I do.'],
    no: ['No, but I would try it!', 'Not yet. Give me a week.'],
    advice: ['Just start {topic} today. You will figure it out on the way.', 'Pick the hardest part of {topic} and do it first.'],
    comfort: ['That is tough, {name}. But you are tougher. What happened?', 'Ouch, {name}. Every fall makes a better story later.'],
    cheer: ['Yes, {name}! That is how it is done!', 'Brilliant, {name}! What is next?'],
    shares: ['Me? {fact}. No regrets.', 'True story: {fact}.']
  }
}

/** What every voice says in Japanese: a smaller repertoire, in the voice's mood and gestures. */
export const JAPANESE: Omit<Voice, 'eagerness' | 'mood' | 'gestures'> = {
  reactions: ['{topic}、いいですね！', '{topic}ですか。もっと聞かせてください。', 'なるほど、{topic}ですね。', '{topic}の話、わくわくします。'],
  questions: ['{name}さんは{topic}についてどう思いますか？', '{name}さん、{topic}は好きですか？', '{name}さんにも{topic}の思い出はありますか？'],
  answers: ['{topic}なら、私はけっこう好きです。', 'そうですね、{topic}はゆっくり考えたいです。', '{topic}のこと、私もよく考えます。', '{topic}は、人によって違うと思います。'],
  greetings: ['{name}さん、こんにちは！ようこそ。', 'いらっしゃい、{name}さん！一緒に話しましょう。'],
  preClosing: ['そろそろ時間ですね。', '今日はたくさん話せて楽しかったです。'],
  goodbyes: ['またね、みなさん！', 'ありがとうございました。また今度！'],
  hellos: ['{name}さん、こんにちは！', 'こんにちは、{name}さん。声をかけてくれてうれしいです。'],
  wellbeing: ['元気です、ありがとう！', 'おかげさまで元気です。'],
  welcome: ['どういたしまして！', 'いえいえ、お役に立ててうれしいです。'],
  yes: ['はい、そうです！', 'ええ、好きですよ。'],
  no: ['うーん、あまりそうでもないです。', 'いいえ、実はあまり。'],
  advice: ['{topic}は、無理をしないのが一番だと思います。', '{topic}なら、まず少しだけやってみるといいですよ。'],
  comfort: ['{name}さん、それは大変でしたね。何があったんですか？', '{name}さん、無理しないでくださいね。'],
  cheer: ['{name}さん、よかったですね！', 'わあ、{name}さん、おめでとうございます！'],
  shares: ['実は、{fact}。', 'ちなみに、{fact}。']
}

/** Ways any voice has of winding down and of saying goodbye, when its own were said. */
export const MORE_PRE_CLOSING = ['This was a good talk. Shall we call it a day soon?', 'I should get going before long.', 'Time flies. We should wrap up soon.']
export const MORE_GOODBYES = ['Bye for now, everyone!', 'Talk soon, everyone. Take care!', 'See you next time!', 'Good night, all!']
export const J_MORE_PRE_CLOSING = ['そろそろお開きにしましょうか。', 'もうこんな時間ですね。']
export const J_MORE_GOODBYES = ['じゃあ、またね！', 'お疲れさまでした！', 'またお話ししましょう！']

const VOICE_KEYWORDS: Array<[RegExp, string]> = [
  [/cheer|curious|bright|bubbly|明る|好奇心/i, 'bright'],
  [/calm|thought|careful|quiet|wise|落ち着|静か|思慮/i, 'calm'],
  [/wit|tease|teasing|sarcas|dry|jok|皮肉|冗談/i, 'wry'],
  [/shy|poet|small things|timid|内気|恥ずかし|詩/i, 'soft'],
  [/energ|food|hungry|loud|元気|食べ/i, 'lively'],
  [/dream|star|science|space|夢|星|科学/i, 'dreamy'],
  [/gentle|caring|kind|warm|patient|garden|優し|穏やか/i, 'warm'],
  [/bold|advent|reckless|brave|冒険|大胆/i, 'bold']
]

/** The voice a personality speaks with: by its words, else by its hash. */
export function voiceFor (personality: string): string {
  for (const [pattern, voice] of VOICE_KEYWORDS) if (pattern.test(personality)) return voice
  const names = Object.keys(VOICES)
  return names[hashString(personality) % names.length]
}
