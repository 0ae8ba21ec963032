// Quantities as people write them: digits ("1,000"), "x100" / "×100", Chinese numerals
// ("一百", "两百五", "三千", "一万") and English words ("twenty", "a hundred", "two hundred fifty").

const ZH_DIGITS: Record<string, number> = {
  零: 0,
  〇: 0,
  一: 1,
  壹: 1,
  二: 2,
  贰: 2,
  两: 2,
  俩: 2,
  三: 3,
  叁: 3,
  四: 4,
  肆: 4,
  五: 5,
  伍: 5,
  六: 6,
  陆: 6,
  七: 7,
  柒: 7,
  八: 8,
  捌: 8,
  九: 9,
  玖: 9,
};
const ZH_UNITS: Record<string, number> = { 十: 10, 拾: 10, 百: 100, 佰: 100, 千: 1000, 仟: 1000 };
export const ZH_NUMERAL = /[零〇一壹二贰两俩三叁四肆五伍六陆七柒八捌九玖十拾百佰千仟万]+/g;

/** "一百" → 100, "十五" → 15, "两百五" → 250 (colloquial: the trailing digit is one unit lower). */
export function parseChineseNumeral(text: string): number | undefined {
  let total = 0;
  let section = 0;
  let digit: number | undefined;
  let lastUnit = 0;
  for (const ch of text) {
    if (ch in ZH_DIGITS) {
      digit = ZH_DIGITS[ch];
    } else if (ch in ZH_UNITS) {
      const unit = ZH_UNITS[ch]!;
      section += (digit ?? 1) * unit;
      digit = undefined;
      lastUnit = unit;
    } else if (ch === '万') {
      total += (section + (digit ?? (section ? 0 : 1))) * 10_000;
      section = 0;
      digit = undefined;
      lastUnit = 10_000;
    } else {
      return undefined;
    }
  }
  if (digit !== undefined) {
    const prev = [...text].at(-2);
    // "两百五" / "一千二": a lone trailing digit right after 百/千/万 means tens/hundreds/thousands.
    section += prev && (prev in ZH_UNITS || prev === '万') && lastUnit >= 100 ? digit * (lastUnit / 10) : digit;
  }
  return total + section;
}

const EN_SMALL: Record<string, number> = {
  zero: 0,
  a: 0,
  an: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  dozen: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
};
const EN_SCALES: Record<string, number> = { hundred: 100, thousand: 1000 };
const EN_WORD =
  /^(?:zero|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand)$/;

/** The first run of English number words in `text`, e.g. "two hundred and fifty" → 250. */
export function parseEnglishNumber(text: string): number | undefined {
  const words = text
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    if (!EN_WORD.test(words[i]!) || ((words[i] === 'a' || words[i] === 'an') && !EN_WORD.test(words[i + 1] ?? '')))
      continue;
    let total = 0;
    let current = 0;
    let used = 0;
    for (let j = i; j < words.length; j++) {
      const word = words[j]!;
      if (word === 'and' && used) continue;
      if (word in EN_SCALES) {
        current = (current || 1) * EN_SCALES[word]!;
        if (word === 'thousand') {
          total += current;
          current = 0;
        }
      } else if (word in EN_SMALL) {
        current += EN_SMALL[word]!;
      } else break;
      used++;
    }
    const value = total + current;
    // "a" or "an" on its own is an article, not a quantity.
    if (used > 1 || (used === 1 && words[i] !== 'a' && words[i] !== 'an')) return value;
  }
  return undefined;
}

const CLASSIFIER = '(?:\\s*(?:次|个|份|枚|张|笔|回))';

/**
 * The quantity in a message (addresses and ids already removed), preferring explicit forms:
 * "x100" / "×100", then a number with a unit ("100次", "50 mints"), then Chinese numerals,
 * then a bare number, then English words.
 */
export function extractQuantity(text: string): number | undefined {
  const cleaned = text.replace(/\b(?:erc|eip|bep)[-\s]?\d+/gi, ' ');
  const times = cleaned.match(/(?<![a-z0-9])[x×*]\s*(\d[\d,]*)(?![\d.])/i);
  if (times) return toInt(times[1]!);
  const withUnit = cleaned.match(
    /(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)\s*(?:次|个|份|枚|张|笔|回|mints?\b|times\b|tokens?\b|pcs\b|copies\b|units\b|x\b|×)/i,
  );
  if (withUnit) return toInt(withUnit[1]!);
  for (const m of cleaned.matchAll(ZH_NUMERAL)) {
    const after = cleaned.slice(m.index! + m[0].length);
    const hasClassifier = new RegExp(`^${CLASSIFIER}`).test(after);
    // A lone "一" is usually not a number ("查一下", "上一个任务"); require a unit or a classifier.
    if (m[0].length === 1 && !/[十拾百佰千仟万]/.test(m[0]) && !hasClassifier) continue;
    if (/^[一两]$/.test(m[0]) && /^\s*个?\s*任务/.test(after)) continue;
    const value = parseChineseNumeral(m[0]);
    if (value !== undefined && value > 0) return value;
  }
  const bare = cleaned.match(/(?<![\w.\-])(\d{1,3}(?:,\d{3})+|\d+)(?![\w.])/);
  if (bare) return toInt(bare[1]!);
  return parseEnglishNumber(cleaned);
}

// Capped so a number too long for a double stays a finite JSON number (Infinity would become
// null): the tool then refuses it as out of range, like any other bad quantity.
const toInt = (s: string) => Math.min(Number.parseInt(s.replace(/,/g, ''), 10), Number.MAX_SAFE_INTEGER);
